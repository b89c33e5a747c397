"""An environment's input, from `envs/<env>.yaml` to a validated `Environment`.

- envfile.py: where environment files are, their names, and reading one (a regular file, at most 1 MB);
  light, so the early plan can use it without loading the schema.
- values.py: the rules on single values: secret shapes, characters, URLs.
- schema.py: the strict schema (every key, type and allowed value) and `Environment`.
- loading.py: the YAML loader and `load_environment`: every error at once, never a secret echoed.
- module_source.py: terraform.module_source/module_version, where rendered roots take the module from.
- regions.py: the region table (Sekoia.io regions and their hosts, Entra ID clouds).

Nothing is imported here: `sekoia-sso --help` and the early plan import only what they use.
"""
