// The options page: is the companion running, pair with it, change its port, test the link.
import { api, t } from "../utils/api.js";
import { BRAND } from "../utils/brand.js";
import { companion } from "../utils/companion.js";
import { describeFailure, Failure } from "../utils/failure.js";
import {
  forgetPairing, lastResult, loadSettings, savePairing, savePort,
} from "../utils/settings.js";

const $ = (id) => document.getElementById(id);

const say = (element, text, good) => {
  element.textContent = text;
  element.className = good === undefined ? "" : good ? "ok" : "bad";
};

const localise = () => {
  document.documentElement.lang = api.i18n.getUILanguage();
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
};

const showStatus = async () => {
  const settings = await loadSettings();
  $("port").value = settings.port;
  try {
    const answer = await companion.ping(settings);
    const running = answer.ready === false ? "statusStarting" : "statusRunning";
    say($("status"), t(running, [String(settings.port), String(answer.version)]), true);
  } catch {
    say($("status"), t("statusNotRunning", [String(settings.port)]), false);
  }
  say($("pairing-state"), settings.token
    ? t("pairedSince", [new Date(settings.pairedAt).toLocaleString()])
    : t("notPaired"), Boolean(settings.token));
  $("unpair").hidden = !settings.token;
  const last = await lastResult();
  $("last-look").textContent = !last ? t("lastLookNone")
    : last.ok ? t(last.inPanel ? "lookDone" : "lookDoneNoPanel",
      [String(last.garments), String(last.matches)])
    : describeFailure(new Failure(last.code));
};

const testConnection = async () => {
  const settings = await loadSettings();
  say($("test-result"), t("testing"));
  try {
    await companion.ping(settings);
    await companion.session(settings);
    say($("test-result"), t("testOk"), true);
  } catch (error) {
    say($("test-result"), describeFailure(error), false);
  }
};

/** Six random digits, shown here only: the user types them into the companion, which pairs
 * only when they are the digits this page sent. */
const pairingCode = () => {
  const value = crypto.getRandomValues(new Uint32Array(1))[0] % 1000000;
  return String(value).padStart(6, "0");
};

const pair = async () => {
  // Firefox grants host permissions only on request; the request must come from this click.
  const permitted = api.permissions?.request
    ? api.permissions.request({ origins: ["<all_urls>"] }) : Promise.resolve(true);
  const code = pairingCode();
  $("pairing-code").textContent = `${code.slice(0, 3)} ${code.slice(3)}`;
  $("pairing-code").hidden = false;
  say($("pairing-result"), t("pairingWaiting"));
  $("pair").disabled = true;
  try {
    if (!(await permitted)) throw new Failure("permission_denied");
    const settings = await loadSettings();
    await companion.ping(settings);
    await savePairing(await companion.pair(settings, code));
    say($("pairing-result"), t("pairingDone"), true);
  } catch (error) {
    say($("pairing-result"), error.code === "pairing_locked"
      ? t("errPairingLocked", [String(Math.max(1, Math.ceil(error.retryAfter)))])
      : describeFailure(error), false);
  } finally {
    $("pairing-code").hidden = true;
    $("pair").disabled = false;
    await showStatus();
  }
};

const unpair = async () => {
  try {
    await companion.unpair(await loadSettings());
  } catch {
    // not running or already unpaired there: forgetting it here is what matters
  }
  await forgetPairing();
  say($("pairing-result"), t("unpaired"));
  await showStatus();
};

const submitPort = async (event) => {
  event.preventDefault();
  const port = Number($("port").value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return;
  await savePort(port);
  await showStatus();
};

const paint = () => {
  for (const [name, value] of Object.entries(BRAND.colours)) {
    document.documentElement.style.setProperty(`--${name.replace("_", "-")}`, value);
  }
};

paint();
localise();
$("test").addEventListener("click", testConnection);
$("pair").addEventListener("click", pair);
$("unpair").addEventListener("click", unpair);
$("port-form").addEventListener("submit", submitPort);
showStatus();
