// Dashboard: every deployment with its instances, their states and reasons, refreshed every 2 s; a banner
// for failed instances; requests and errors of the last 24 hours; an instance's log tail on demand.
import { json, request } from "../api.js";
import { fill, h, notice } from "../dom.js";

const POLL_MS = 2000;

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

function table(deployments, usage, logPanel) {
  const rows = deployments.map((d) => {
    const sums = usage.get(d.name) || { requests: 0, errors: 0 };
    const instances = d.instances.length ? h("ul", { class: "instances" }, d.instances.map((i) => h("li", {},
      `#${i.ordinal} `, stateBadge(i.state), i.reason ? h("span", { class: "reason" }, ` ${i.reason}`) : null,
      d.engine && !(d.urls && d.urls.length)
        ? h("button", { type: "button", class: "link", onclick: () => showLog(logPanel, d.name, i.ordinal),
                        "aria-label": `Log of ${d.name} instance ${i.ordinal}` }, "log") : null)))
      : h("span", { class: "muted" }, "no instance yet");
    return h("tr", {}, h("th", { scope: "row" }, d.name), h("td", {}, d.category), h("td", { class: "wrap" }, source(d)),
             h("td", {}, instances), h("td", { class: "num" }, sums.requests), h("td", { class: "num" }, sums.errors));
  });
  return h("table", { class: "grid" },
    h("caption", {}, "Deployments and their instances (live)"),
    h("thead", {}, h("tr", {}, ["Deployment", "Category", "Runs", "Instances", "Requests 24 h", "Errors 24 h"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 6 }, "No deployments yet."))));
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

  async function refresh() {
    try {
      const [deployments, usage] = await Promise.all([
        json("GET", "../api/deployments"), json("GET", "../api/usage?group=deployment&from=1d"),
      ]);
      if (stopped) return;
      const byName = new Map(usage.data.map((row) => [row.group, row]));
      const failed = deployments.data.flatMap((d) => d.instances.filter((i) => i.state === "failed")
        .map((i) => `${d.name} #${i.ordinal}: ${i.reason || "failed"}`));
      const unreadable = deployments.unreadable.map((u) => `${u.name}: ${u.error}`);
      fill(banner, failed.length ? notice(`Failed instances: ${failed.join("; ")}`, "error") : null,
           unreadable.length ? notice(`Unreadable deployments: ${unreadable.join("; ")}`, "error") : null);
      fill(body, table(deployments.data, byName, logPanel));
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
