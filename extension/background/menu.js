// The "Shop this look" context-menu item. Created idempotently: menus survive browser restarts
// in some browsers and not in others, so we always clear and create again.
import { menus, t } from "../utils/api.js";

export const MENU_ID = "shop-this-look";

// "page" too: a right-click on an element with a CSS background image is a page context with
// no srcUrl; the content script finds the image under the pointer.
export const createMenus = async () => {
  await menus.removeAll();
  menus.create({
    id: MENU_ID,
    title: t("menuShopThisLook"),
    contexts: ["image", "page"],
  });
};
