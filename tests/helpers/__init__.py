"""Helpers shared by several test modules (test modules never import each other).

- backups.py: backup trees, configurations, collecting, reading the store back
- sphinx_site.py: the demo tree collected for Sphinx builds, with a hostile series
- store.py: the schema's head revision

The servers are tests/sshd.py and tests/pg.py, the other users tests/privileges.py;
their fixtures are in tests/conftest.py.
"""
