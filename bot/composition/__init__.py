"""The composition root: settings, storage, catalog, core, jobs and adapters wired together."""
