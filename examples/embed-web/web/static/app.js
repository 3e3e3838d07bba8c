// Embeds the report with powerbi-client and refreshes its embed token before
// it expires: GET /api/embed/{reportId} returns a fresh configuration, and
// report.setAccessToken swaps the token in without reloading the report.
(function () {
  "use strict";
  const pbi = window["powerbi-client"];
  const body = document.body;
  const reportId = body.dataset.reportId;
  const refreshBeforeMs = Number(body.dataset.refreshBeforeMs);
  const statusEl = document.getElementById("status");
  const container = document.getElementById("report-container");
  const retryMs = 10000;
  let report = null;
  let refreshes = 0;

  function status(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", Boolean(isError));
  }

  async function fetchConfig() {
    const resp = await fetch("/api/embed/" + encodeURIComponent(reportId), {
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    if (!resp.ok) {
      throw new Error("the server answered " + resp.status);
    }
    return resp.json();
  }

  function scheduleRefresh(expiration) {
    const wait = Math.max(1000, Date.parse(expiration) - Date.now() - refreshBeforeMs);
    setTimeout(refresh, wait);
  }

  function describe(conf) {
    return "token " + conf.tokenId + " expires at " + new Date(conf.expiration).toLocaleTimeString() +
      "; refreshed " + refreshes + " time" + (refreshes === 1 ? "" : "s");
  }

  async function refresh() {
    try {
      const conf = await fetchConfig();
      refreshes++;
      body.dataset.refreshes = String(refreshes);
      body.dataset.tokenId = conf.tokenId;
      report.setAccessToken(conf.accessToken).catch(function (err) {
        status("setAccessToken failed: " + (err && err.message ? err.message : err), true);
      });
      status("Embedded; " + describe(conf));
      scheduleRefresh(conf.expiration);
    } catch (err) {
      status("Token refresh failed (" + err.message + "); retrying in " + retryMs / 1000 + " s", true);
      setTimeout(refresh, retryMs);
    }
  }

  async function start() {
    try {
      const conf = await fetchConfig();
      report = window.powerbi.embed(container, {
        type: conf.type,
        id: conf.id,
        embedUrl: conf.embedUrl,
        accessToken: conf.accessToken,
        tokenType: pbi.models.TokenType.Embed,
        permissions: conf.permissions || pbi.models.Permissions.Read,
        viewMode: conf.viewMode || pbi.models.ViewMode.View,
        settings: { panes: { filters: { visible: false } } },
      });
      report.on("error", function (event) {
        status("Power BI: " + JSON.stringify(event.detail), true);
      });
      body.dataset.embedded = "true";
      body.dataset.tokenId = conf.tokenId;
      status("Embedded; " + describe(conf));
      scheduleRefresh(conf.expiration);
    } catch (err) {
      body.dataset.embedError = String(err && err.message ? err.message : err);
      status("Embedding failed: " + body.dataset.embedError, true);
    }
  }

  start();
})();
