// Usage: charts of requests by day, by key and by deployment side by side (GET /api/usage, one grouping each),
// and a table of the grouping chosen, with CSV export.
import { json } from "../api.js";
import { field, fill, h, notice, select } from "../dom.js";

const COLUMNS = ["requests", "errors", "input_tokens", "output_tokens", "documents", "images", "characters",
                 "audio_seconds", "bytes_out"];
const CHARTS = ["day", "key", "deployment"];
const NONE = { day: "(no day)", key: "(no key)", deployment: "(no deployment: admin API, unknown model…)" };

function csv(rows) {
  const quote = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [["group", ...COLUMNS], ...rows.map((r) => [r.group ?? "total", ...COLUMNS.map((c) => r[c] ?? 0)])]
    .map((line) => line.map(quote).join(",")).join("\n") + "\n";
}

/** A bar chart of requests per group; `label(group)` names a bar (key ids become key names). */
function chart(title, rows, label) {
  const most = Math.max(1, ...rows.map((r) => r.requests || 0));
  const bars = rows.map((r) => {
    const tokens = (r.input_tokens || 0) + (r.output_tokens || 0);
    const name = label(r.group);
    const bar = h("span", { class: "bar" });
    bar.style.width = `${Math.round(100 * (r.requests || 0) / most)}%`;
    return h("div", { class: "bar-row", title: `${name}: ${r.requests || 0} requests, ${tokens} tokens, ${r.errors || 0} errors` },
      h("span", { class: "bar-label" }, name), bar, h("span", { class: "num" }, r.requests || 0));
  });
  return h("figure", { class: "bars" }, h("figcaption", {}, title),
    bars.length ? bars : h("p", { class: "muted" }, "No requests in this period."));
}

function table(rows, group, since) {
  return h("table", { class: "grid" }, h("caption", {}, `Usage by ${group}, ${since}`),
    h("thead", {}, h("tr", {}, [group, ...COLUMNS].map((t) => h("th", { scope: "col" }, t.replace("_", " "))))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("th", { scope: "row" }, r.group ?? "total"),
      COLUMNS.map((c) => h("td", { class: "num" }, Number(r[c] || 0).toLocaleString()))))));
}

/** Render the usage page into `main`. */
export async function render(main) {
  const group = select({ id: "usage-group" }, [["day", "day"], ["key", "key"], ["deployment", "deployment"],
                                               ["endpoint", "endpoint"]]);
  const since = select({ id: "usage-from" }, [["7d", "last 7 days"], ["30d", "last 30 days"], ["90d", "last 90 days"]]);
  const charts = h("div", { class: "charts", "aria-live": "polite" });
  const out = h("div", { "aria-live": "polite" });
  const download = h("a", { class: "button", download: "modelport-usage.csv", href: "#" }, "Export CSV");
  let url = null;
  let latest = 0; // answers to an older choice that arrive late are dropped

  const report = (by) => json("GET", `../api/usage?group=${by}&from=${since.value}`).then((r) => r.data);
  async function refresh() {
    const asked = ++latest;
    try {
      const [rows, keys, ...grouped] = await Promise.all([
        report(group.value), json("GET", "../api/keys").then((r) => r.data), ...CHARTS.map((by) => report(by)),
      ]);
      if (asked !== latest) return;
      const names = new Map(keys.map((k) => [k.id, `${k.name} (${k.id})`]));
      const label = (by) => (value) => (!value ? NONE[by] : by === "key" ? names.get(value) || value : value);
      fill(charts, CHARTS.map((by, i) => chart(`Requests by ${by}`, grouped[i], label(by))));
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(new Blob([csv(rows)], { type: "text/csv" }));
      download.href = url;
      download.download = `modelport-usage-${group.value}-${since.value}.csv`;
      fill(out, table(rows, group.value, since.value));
    } catch (error) {
      if (asked === latest) fill(out, notice(error.message, "error"));
    }
  }
  group.addEventListener("change", refresh);
  since.addEventListener("change", refresh);
  main.append(h("h1", {}, "Usage"), h("div", { class: "row" }, field("Period", since)), charts,
              h("div", { class: "row" }, field("Group by (table and CSV)", group), download), out);
  await refresh();
  return () => url && URL.revokeObjectURL(url);
}
