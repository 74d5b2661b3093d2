// One name for the WebExtension API in every surface: Firefox's promise-based `browser`,
// or Chrome's `chrome` (promise-based in Manifest V3). Per-browser differences live here only.
"use strict";

globalThis.STL = globalThis.STL || {};
STL.api = globalThis.browser ?? globalThis.chrome;
STL.menus = STL.api.contextMenus ?? STL.api.menus;

/** A localised message; `substitutions` fill $1, $2… in messages.json. */
STL.t = (key, substitutions) => STL.api.i18n.getMessage(key, substitutions) || key;
