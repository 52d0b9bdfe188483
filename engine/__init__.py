"""The engine: compiling metadata to tables and schemas, runtime migrations, the record
service, plugins, the REST API, the CLI and the app factory."""
