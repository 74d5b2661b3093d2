// The "Shop this look" context-menu item. Created idempotently: menus survive browser restarts
// in some browsers and not in others, so we always clear and create again.
"use strict";

STL.MENU_ID = "shop-this-look";

// "page" too: a right-click on an element with a CSS background image is a page context with
// no srcUrl; the content script finds the image under the pointer.
STL.createMenus = async () => {
  await STL.menus.removeAll();
  STL.menus.create({
    id: STL.MENU_ID,
    title: STL.t("menuShopThisLook"),
    contexts: ["image", "page"],
  });
};
