// The staff retrieve page (/staff/requests/{id}). Only signed-in staff get
// it; the session cookie goes with every request on its own. The retrieve key
// is in the fragment (after #), which browsers never send to the server on
// their own; this script sends it only to retrieve the answer, once, and then
// drops it from the address bar.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const app = $("app");
  const requestId = app ? app.dataset.requestId || "" : "";
  const apiUrl = `/api/v1/requests/${encodeURIComponent(requestId)}`;

  const MSG = {
    notFound: "This request does not exist, or it expired and its record is deleted.",
    wrongLink: "Wrong or incomplete retrieve link.",
    missingKey:
      "The retrieve key (the part after #) is missing from this address: open the retrieve link shown when the request was created.",
    notAnswered: "The customer has not answered yet.",
    network: "Could not reach the server. Check your connection and try again.",
    generic: "Something went wrong; try again.",
  };

  const STATES = {
    open: "Waiting for the customer",
    answered: "Answered — ready to retrieve",
    locked: "Locked after too many attempts",
    retrieved: "Retrieved — deleted from the server",
  };

  const DETAILS = {
    open: "The customer has not answered yet. Refresh this page later.",
    answered: "",
    locked: "The customer used up all attempts without a secret Microsoft accepts. Create a new request if one is still needed.",
    retrieved: "The secret was already retrieved and is no longer stored.",
  };

  // ---- Time formatting ------------------------------------------------

  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n) => String(n).padStart(2, "0");

  function parseTime(iso) {
    if (typeof iso !== "string" || iso === "") {
      return null;
    }
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  // "22 Nov 2026, 10:32 UTC"; "Unknown" for a missing or unreadable time.
  function formatUtc(iso) {
    const date = parseTime(iso);
    if (!date) {
      return "Unknown";
    }
    return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
  }

  // "2026-11-22" as "22 Nov 2026"; anything else as it came.
  function formatDay(text) {
    const match = typeof text === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) : null;
    if (!match) {
      return String(text);
    }
    const month = MONTHS[Number(match[2]) - 1];
    return month ? `${Number(match[3])} ${month} ${match[1]}` : text;
  }

  // "Microsoft accepted the secret (AADSTS…)" from {code, message, aadsts}.
  function describeVerification(verification) {
    if (!verification || typeof verification !== "object") {
      return "";
    }
    const message = typeof verification.message === "string" ? verification.message : "";
    const code = verification.aadsts;
    const aadsts = code !== null && code !== undefined && code !== "" ? `AADSTS${code}` : "";
    const text = message || String(verification.code || "");
    return aadsts && !text.includes(aadsts) ? `${text} (${aadsts})` : text;
  }

  const isText = (value) => typeof value === "string" && value !== "";

  // ---- Page state -----------------------------------------------------

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = false;
  }

  function clearError() {
    const box = $("error");
    box.textContent = "";
    box.hidden = true;
    $("signed-out").hidden = true;
  }

  function showSignedOut() {
    $("loading").hidden = true;
    $("sign-in-link").href = `/staff/sign-in?next=${encodeURIComponent(location.pathname)}`;
    $("signed-out").hidden = false;
  }

  function showGone(message) {
    clearError();
    $("loading").hidden = true;
    $("details").hidden = true;
    $("gone-message").textContent = message;
    $("gone").hidden = false;
  }

  function messageOf(body) {
    return body && typeof body.message === "string" && body.message !== "" ? body.message : MSG.generic;
  }

  // Sets an optional fact, hiding its row when there is nothing to say.
  function fact(id, text) {
    $(id).textContent = text || "";
    $(`${id}-row`).hidden = !text;
  }

  // ---- The key ----------------------------------------------------------

  // Returns the key from the fragment, or "" if it is missing or unusable.
  function readKey() {
    const raw = location.hash.slice(1);
    try {
      return decodeURIComponent(raw).trim();
    } catch {
      return ""; // malformed percent-encoding
    }
  }

  let key = readKey();

  // ---- API --------------------------------------------------------------

  async function request(url, options = {}) {
    const response = await fetch(url, {
      ...options,
      headers: { Accept: "application/json", ...options.headers },
      cache: "no-store",
      credentials: "same-origin",
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null; // empty or not JSON (for example a proxy error page)
    }
    return { status: response.status, body };
  }

  // ---- Rendering --------------------------------------------------------

  let state = "";

  function render(data) {
    state = typeof data.state === "string" ? data.state : "";
    $("state").textContent = STATES[state] || state || "Unknown";

    const tenant = data.tenant && typeof data.tenant === "object" ? data.tenant : {};
    $("tenant-name").textContent = isText(tenant.slug) ? `${tenant.name || ""} (${tenant.slug})` : String(tenant.name || "");
    $("entra-tenant").textContent = String(tenant.entra_tenant || "");
    $("client-id").textContent = String(tenant.client_id || "");
    $("created").textContent = isText(data.created_by)
      ? `${formatUtc(data.created_at)} by ${data.created_by}`
      : formatUtc(data.created_at);
    $("expires").textContent = formatUtc(data.expires_at);
    $("tries").textContent = String(Number(data.tries) || 0);

    fact("answered", isText(data.answered_at) ? formatUtc(data.answered_at) : "");
    fact("verification", describeVerification(data.verification));
    fact("expires-on", isText(data.expires_on) ? formatDay(data.expires_on) : "");
    fact("secret-id", isText(data.secret_id) ? data.secret_id : "");
    fact("hint", isText(data.hint) ? `${data.hint}…` : "");
    fact("retrieved-at", isText(data.retrieved_at) ? formatUtc(data.retrieved_at) : "");

    let detail = state in DETAILS ? DETAILS[state] : "";
    const canRetrieve = state === "answered" && key !== "";
    if (state === "answered" && key === "") {
      detail = MSG.missingKey;
    }
    $("state-detail").textContent = detail;
    $("state-detail").hidden = detail === "";
    $("retrieve-box").hidden = !canRetrieve;
    $("retrieve-hint").hidden = !canRetrieve;
    $("retrieve").disabled = false;

    $("loading").hidden = true;
    $("gone").hidden = true;
    $("details").hidden = false;
  }

  // ---- Loading ------------------------------------------------------------

  async function load() {
    if (requestId === "") {
      showGone(MSG.notFound);
      return;
    }

    let result;
    try {
      result = await request(`${apiUrl}/details`);
    } catch {
      $("loading").hidden = true;
      showError(MSG.network);
      return;
    }

    const { status, body } = result;
    if (status === 200 && body) {
      clearError();
      render(body);
    } else if (status === 401) {
      showSignedOut();
    } else if (status === 404) {
      showGone(MSG.notFound);
    } else {
      $("loading").hidden = true;
      showError(messageOf(body));
    }
  }

  // ---- Actions ------------------------------------------------------------

  const refresh = $("refresh");
  refresh.addEventListener("click", async () => {
    refresh.disabled = true;
    try {
      await load();
    } finally {
      refresh.disabled = false;
    }
  });

  function retrieved(body) {
    const output = $("retrieved-secret");
    output.value = body.secret;
    const lines = body.secret.split("\n").length;
    output.rows = Math.min(Math.max(lines, 2), 16);

    // What came with the secret may be fresher than what the page loaded.
    if (isText(body.expires_on)) {
      fact("expires-on", formatDay(body.expires_on));
    }
    if (isText(body.secret_id)) {
      fact("secret-id", body.secret_id);
    }
    if (isText(body.hint)) {
      fact("hint", `${body.hint}…`);
    }
    const verification = describeVerification(body.verification);
    if (verification !== "") {
      fact("verification", verification);
    }

    state = "retrieved";
    $("state").textContent = STATES.retrieved;
    $("state-detail").hidden = true;
    $("retrieve-box").hidden = true;
    $("retrieve-hint").hidden = true;
    $("refresh").closest(".actions").hidden = true;
    clearError();
    $("retrieved").hidden = false;
    $("retrieved-heading").focus();

    // Drop the key from the address bar and from history, and from memory.
    history.replaceState(null, "", location.pathname);
    key = "";
  }

  const retrieve = $("retrieve");
  retrieve.addEventListener("click", async () => {
    if (retrieve.disabled) {
      return;
    }
    if (key === "") {
      showError(MSG.missingKey);
      return;
    }
    clearError();
    retrieve.disabled = true;

    let result;
    try {
      result = await request(`${apiUrl}/retrieve`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ key }),
      });
    } catch {
      retrieve.disabled = false;
      showError(MSG.network);
      return;
    }

    const { status, body } = result;
    const code = body && typeof body.error === "string" ? body.error : "";

    if (status === 200 && body && typeof body.secret === "string") {
      retrieved(body);
      return;
    }
    retrieve.disabled = false;
    if (status === 401) {
      showSignedOut();
    } else if (status === 404 && code === "already_retrieved") {
      const at = parseTime(body.ended_at);
      showError(at ? `Already retrieved at ${formatUtc(body.ended_at)}.` : "Already retrieved.");
      $("retrieve-box").hidden = true;
      $("retrieve-hint").hidden = true;
    } else if (status === 404) {
      showError(MSG.wrongLink);
    } else if (status === 409 && code === "not_answered") {
      showError(MSG.notAnswered);
    } else {
      showError(messageOf(body));
    }
  });

  // A different retrieve link pasted into the address bar changes only the
  // fragment, which does not reload the page by itself.
  window.addEventListener("hashchange", () => location.reload());

  load();
})();
