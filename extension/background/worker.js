// The background entry point. Chrome runs this file as the service worker and loads the rest
// with importScripts; Firefox loads the same files from manifest background.scripts.
"use strict";

if (typeof importScripts === "function") {
  importScripts(
    "/utils/api.js", "/utils/failure.js", "/utils/settings.js", "/utils/companion.js",
    "/background/menu.js", "/background/image.js", "/background/notify.js",
    "/background/shop.js",
  );
}

STL.api.runtime.onInstalled.addListener(() => STL.createMenus());
STL.api.runtime.onStartup.addListener(() => STL.createMenus());

STL.menus.onClicked.addListener((info, tab) => {
  if (info.menuItemId === STL.MENU_ID) return STL.shopThisLook(info, tab);
  return undefined;
});

STL.api.action.onClicked.addListener(() => STL.api.runtime.openOptionsPage());
