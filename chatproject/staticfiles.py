"""How production stores static files (collectstatic): WhiteNoise's
compressed files with content hashes in their names, served forever-cached.

The chat client's JavaScript modules import each other by relative path
(`import … from "./api.js";`); Django rewrites those imports to the hashed
names too when asked to (`support_js_module_import_aggregation`), so a page
never runs a new module against an old one it imports after a deploy.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
