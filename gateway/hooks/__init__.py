"""The plugin host: the hook specifications, loading plugins through their entry
points, calling their hooks one at a time, and the guide's signature check.

Owns the plugin_migrations table. May import plugin_api, config and storage; plugins
themselves import only gateway.plugin_api.
"""
