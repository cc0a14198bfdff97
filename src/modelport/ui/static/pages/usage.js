// Usage: sums from GET /api/usage by day, key, deployment or endpoint, as bars and a table, with CSV export.
import { json } from "../api.js";
import { field, fill, h, notice, select } from "../dom.js";

const COLUMNS = ["requests", "errors", "input_tokens", "output_tokens", "documents", "images", "characters",
                 "audio_seconds", "bytes_out"];

function csv(rows) {
  const quote = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [["group", ...COLUMNS], ...rows.map((r) => [r.group ?? "total", ...COLUMNS.map((c) => r[c] ?? 0)])]
    .map((line) => line.map(quote).join(",")).join("\n") + "\n";
}

/** Render the usage page into `main`. */
export async function render(main) {
  const group = select({ id: "usage-group" }, [["day", "day"], ["key", "key"], ["deployment", "deployment"],
                                               ["endpoint", "endpoint"]]);
  const since = select({ id: "usage-from" }, [["7d", "last 7 days"], ["30d", "last 30 days"], ["90d", "last 90 days"]]);
  const out = h("div", { "aria-live": "polite" });
  const download = h("a", { class: "button", download: "modelport-usage.csv", href: "#" }, "Export CSV");
  let url = null;
  let latest = 0; // answers to an older choice that arrive late are dropped

  async function refresh() {
    const asked = ++latest;
    try {
      const report = await json("GET", `../api/usage?group=${group.value}&from=${since.value}`);
      if (asked !== latest) return;
      const rows = report.data;
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(new Blob([csv(rows)], { type: "text/csv" }));
      download.href = url;
      download.download = `modelport-usage-${group.value}-${since.value}.csv`;
      const most = Math.max(1, ...rows.map((r) => r.requests || 0));
      fill(out,
        h("figure", { class: "bars" }, h("figcaption", {}, `Requests by ${group.value}`),
          rows.length ? rows.map((r) => h("div", { class: "bar-row" }, h("span", { class: "bar-label" }, r.group ?? "total"),
            h("span", { class: "bar", style: null, dataset: { width: String(Math.round(100 * (r.requests || 0) / most)) } }),
            h("span", { class: "num" }, r.requests || 0))) : h("p", { class: "muted" }, "No requests in this period.")),
        h("table", { class: "grid" }, h("caption", {}, `Usage by ${group.value}, ${since.value}`),
          h("thead", {}, h("tr", {}, [group.value, ...COLUMNS].map((t) => h("th", { scope: "col" }, t.replace("_", " "))))),
          h("tbody", {}, rows.map((r) => h("tr", {}, h("th", { scope: "row" }, r.group ?? "total"),
            COLUMNS.map((c) => h("td", { class: "num" }, Number(r[c] || 0).toLocaleString())))))));
      for (const bar of out.querySelectorAll(".bar")) bar.style.width = `${bar.dataset.width}%`;
    } catch (error) {
      if (asked === latest) fill(out, notice(error.message, "error"));
    }
  }
  group.addEventListener("change", refresh);
  since.addEventListener("change", refresh);
  main.append(h("h1", {}, "Usage"), h("div", { class: "row" }, field("Group by", group), field("Period", since), download), out);
  await refresh();
  return () => url && URL.revokeObjectURL(url);
}
