// Dashboard: every deployment with its instances, their states and reasons, refreshed every 2 s; a banner
// for failed instances; requests and errors of the last 24 hours; an instance's log tail on demand.
import { json, request } from "../api.js";
import { fill, h, notice } from "../dom.js";

const POLL_MS = 2000;

/** Per deployment from the Prometheus text: {requests, errors, ttftSum, ttftCount}. */
function parseMetrics(text) {
  const out = new Map();
  const get = (name) => {
    if (!out.has(name)) out.set(name, { requests: 0, errors: 0, ttftSum: 0, ttftCount: 0 });
    return out.get(name);
  };
  for (const line of text.split("\n")) {
    const match = /^(\w+)\{([^}]*)\} (\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, key, value] of match[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    if (!labels.deployment) continue;
    const value = Number(match[3]);
    const row = get(labels.deployment);
    if (match[1] === "modelport_requests_total") {
      row.requests += value;
      if (Number(labels.status) >= 400) row.errors += value;
    } else if (match[1] === "gen_ai_server_time_to_first_token_seconds_sum") row.ttftSum += value;
    else if (match[1] === "gen_ai_server_time_to_first_token_seconds_count") row.ttftCount += value;
  }
  return out;
}

function source(deployment) {
  if (deployment.urls && deployment.urls.length) return deployment.urls.join(", ");
  return [deployment.engine, deployment.model].filter(Boolean).join(" · ");
}

function stateBadge(state) {
  return h("span", { class: `state state-${state}` }, state);
}

async function showLog(panel, name, ordinal) {
  panel.hidden = false;
  fill(panel, h("h2", {}, `Log of ${name} #${ordinal}`), h("p", { class: "muted" }, "Loading…"));
  try {
    const response = await request("GET", `../api/logs/${encodeURIComponent(name)}?ordinal=${ordinal}&lines=80`);
    const text = await response.text();
    fill(panel, h("h2", {}, `Log of ${name} #${ordinal}`), h("pre", { class: "log", tabindex: "0" }, text || "(empty)"));
  } catch (error) {
    fill(panel, h("h2", {}, `Log of ${name} #${ordinal}`), notice(error.message, "error"));
  }
}

function table(deployments, usage, live, logPanel) {
  const rows = deployments.map((d) => {
    const sums = usage.get(d.name) || { requests: 0, errors: 0 };
    const now = live.get(d.name) || { rate: 0, errors: 0, ttft: null };
    const instances = d.instances.length ? h("ul", { class: "instances" }, d.instances.map((i) => h("li", {},
      `#${i.ordinal} `, stateBadge(i.state), i.reason ? h("span", { class: "reason" }, ` ${i.reason}`) : null,
      d.engine && !(d.urls && d.urls.length)
        ? h("button", { type: "button", class: "link", onclick: () => showLog(logPanel, d.name, i.ordinal),
                        "aria-label": `Log of ${d.name} instance ${i.ordinal}` }, "log") : null)))
      : h("span", { class: "muted" }, "no instance yet");
    return h("tr", {}, h("th", { scope: "row" }, d.name), h("td", {}, d.category), h("td", { class: "wrap" }, source(d)),
             h("td", {}, instances), h("td", { class: "num" }, now.rate.toFixed(2)),
             h("td", { class: "num ttft" }, now.ttft === null ? "–" : `${(now.ttft * 1000).toFixed(0)} ms`),
             h("td", { class: "num" }, now.errors), h("td", { class: "num" }, sums.requests),
             h("td", { class: "num" }, sums.errors));
  });
  return h("table", { class: "grid" },
    h("caption", {}, "Deployments and their instances (live)"),
    h("thead", {}, h("tr", {}, ["Deployment", "Category", "Runs", "Instances", "Requests/s", "Mean TTFT",
      "Errors (this process)", "Requests 24 h", "Errors 24 h"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 9 }, "No deployments yet."))));
}

/** Render the dashboard into `main`; returns the function that stops its polling. */
export async function render(main) {
  const banner = h("div", { "aria-live": "polite" });
  const body = h("div", {});
  const logPanel = h("section", { class: "card", "aria-live": "polite", hidden: true });
  const updated = h("p", { class: "muted" });
  main.append(h("h1", {}, "Dashboard"), banner, body, updated, logPanel);
  let stopped = false;
  let timer = null;
  let previous = null; // {at, metrics} of the last poll, for rates

  function liveNumbers(text) {
    const at = performance.now();
    const metrics = parseMetrics(text);
    const live = new Map();
    for (const [name, row] of metrics) {
      const before = previous && previous.metrics.get(name);
      const seconds = previous ? (at - previous.at) / 1000 : 0;
      live.set(name, { rate: before && seconds > 0 ? Math.max(0, row.requests - before.requests) / seconds : 0,
                       errors: row.errors, ttft: row.ttftCount ? row.ttftSum / row.ttftCount : null });
    }
    previous = { at, metrics };
    return live;
  }

  async function refresh() {
    try {
      const [deployments, usage, metrics] = await Promise.all([
        json("GET", "../api/deployments"), json("GET", "../api/usage?group=deployment&from=1d"),
        request("GET", "metrics").then((r) => r.text()),
      ]);
      if (stopped) return;
      const byName = new Map(usage.data.map((row) => [row.group, row]));
      const failed = deployments.data.flatMap((d) => d.instances.filter((i) => i.state === "failed")
        .map((i) => `${d.name} #${i.ordinal}: ${i.reason || "failed"}`));
      const unreadable = deployments.unreadable.map((u) => `${u.name}: ${u.error}`);
      fill(banner, failed.length ? notice(`Failed instances: ${failed.join("; ")}`, "error") : null,
           unreadable.length ? notice(`Unreadable deployments: ${unreadable.join("; ")}`, "error") : null);
      fill(body, table(deployments.data, byName, liveNumbers(metrics), logPanel));
      fill(updated, `Updated ${new Date().toLocaleTimeString()}; refreshes every ${POLL_MS / 1000} s.`);
    } catch (error) {
      if (!stopped) fill(banner, notice(`Could not refresh: ${error.message}`, "error"));
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }

  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
