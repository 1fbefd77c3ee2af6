"""Helpers shared by several test modules (test modules never import each other).

- backups.py: backup trees, configurations, collecting, reading the store back
- config_files.py: configuration documents in the tests' own TOML writer
- pages.py: a built HTML page's chart containers, status boxes and scripts
- sphinx_site.py: the demo tree collected for Sphinx builds, with a hostile series
- ssh_nodes.py: nodes on the test sshd, their backups and what the store kept
- store.py: the schema's head revision

The servers are tests/sshd.py and tests/pg.py, the other users tests/privileges.py;
their fixtures are in tests/conftest.py.
"""
