// Copy buttons: <button class="copy" data-copy-target="ID"> copies the value
// of the element with that id. One delegated listener covers buttons in
// sections that are shown later.

import { t } from "./common.js";

const RESET_AFTER_MS = 2000;
const timers = new WeakMap();
let liveRegion = null;

// Screen readers do not reliably announce a button's changed label, so
// the result is also spoken through a polite live region.
function announce(message) {
  if (!liveRegion) {
    liveRegion = document.createElement("div");
    liveRegion.className = "visually-hidden";
    liveRegion.setAttribute("role", "status");
    liveRegion.setAttribute("aria-live", "polite");
    document.body.append(liveRegion);
  }
  liveRegion.textContent = "";
  // A fresh text node after clearing makes repeated messages audible.
  window.setTimeout(() => {
    liveRegion.textContent = message;
  }, 50);
}

function selectAll(target) {
  if (typeof target.select !== "function") {
    return false;
  }
  target.focus();
  target.select();
  try {
    target.setSelectionRange(0, target.value.length);
  } catch {
    // Some input types do not support selection ranges; select() suffices.
  }
  return true;
}

function legacyCopy(target) {
  if (!selectAll(target)) {
    return false;
  }
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  }
}

async function copyFrom(target) {
  const text = "value" in target ? target.value : target.textContent;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission denied or unsupported: try the older way below.
    }
  }
  return legacyCopy(target);
}

function flash(button, label) {
  if (!button.dataset.label) {
    button.dataset.label = button.textContent;
  }
  button.textContent = label;
  window.clearTimeout(timers.get(button));
  timers.set(
    button,
    window.setTimeout(() => {
      button.textContent = button.dataset.label;
    }, RESET_AFTER_MS),
  );
}

document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element
    ? event.target.closest("button.copy[data-copy-target]")
    : null;
  if (!button) {
    return;
  }
  const target = document.getElementById(button.dataset.copyTarget);
  if (!target) {
    return;
  }
  if (await copyFrom(target)) {
    flash(button, t("copied"));
    announce(t("copied-announce"));
  } else {
    // Leave the text selected so it can be copied by hand.
    selectAll(target);
    flash(button, t("copy-failed"));
    announce(t("copy-failed-announce"));
  }
});
