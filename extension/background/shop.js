// "Shop this look": image bytes → companion → tell the user. The results themselves open in
// the companion's window; here we only report the outcome.
import { t } from "../utils/api.js";
import { companion } from "../utils/companion.js";
import { describeFailure, Failure } from "../utils/failure.js";
import { loadSettings, recordResult } from "../utils/settings.js";
import { obtainImage } from "./image.js";
import { notify } from "./notify.js";

export const shopThisLook = async (info, tab) => {
  try {
    const settings = await loadSettings();
    if (!settings.token) throw new Failure("not_paired");
    // A companion just started answers while it loads its models: say so, then send anyway
    // (the look waits in its queue until they are loaded).
    const { ready } = await companion.ping(settings);
    await notify(tab, "progress", t(ready === false ? "lookStarting" : "lookWorking"));
    const image = await obtainImage(info, tab);
    const { look, inPanel } = await companion.look(settings, image.blob, {
      pageUrl: info.pageUrl ?? tab?.url ?? "",
      imageUrl: image.url,
    });
    const garments = look.items.length;
    const matches = look.items.reduce((sum, item) => sum + item.matches.length, 0);
    if (garments === 0 || matches === 0) throw new Failure("no_garments");
    await recordResult({
      ok: true, garments, matches, people: look.people.length, image: look.image, inPanel,
    });
    const counts = [String(garments), String(matches)];
    await notify(tab, "success", t(inPanel ? "lookDone" : "lookDoneNoPanel", counts));
  } catch (error) {
    const code = error instanceof Failure ? error.code : "unexpected";
    if (!(error instanceof Failure)) console.error("Shop the Look:", error);
    await recordResult({ ok: false, code });
    await notify(tab, "error", describeFailure(error));
  }
};
