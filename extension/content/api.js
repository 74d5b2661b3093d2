// The content scripts' name for the WebExtension API. Content scripts are classic scripts that
// cannot import modules, so they share this one global instead of importing utils/api.js.
"use strict";

globalThis.STL = globalThis.STL || {};
STL.api = globalThis.browser ?? globalThis.chrome;
