"""sekoia-sso: Sekoia.io single sign-on through Microsoft Entra ID, as code.

Data flows one way: envs/<env>.yaml → config/ → render.py → terraform/ → outputs → entra/ → sekoia/;
workflows/ drives it for each command of commands/.

    cli.py        the `sekoia-sso` group: the commands of commands/ in one, and main()
    commands/     the commands, thin, grouped by what they touch, and their shared options
    exits.py      how a run ends: exceptions → message and exit code; --json's one document
    errors.py     the whole exception tree, each class with its exit code
    console.py    what commands print (steps, results, progress) and read (durations)
    secret.py     Secret and reveal(): a value that prints as ********
    retry_after.py, endpoints.py   the Retry-After reading; where each service lives
    render.py     envs/<env>.yaml → terraform/envs/<env>/ (Jinja, HCL escaping, all or nothing)
    config/ terraform/ entra/ sekoia/ workflows/   each package's __init__ says what lives where
"""

__version__ = "0.1.0"
