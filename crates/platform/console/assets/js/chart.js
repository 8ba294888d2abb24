// A bar chart of successes and failures per hour, drawn as SVG from
// numbers (no text from the API reaches it but the hours' labels).
import { h, s } from "./dom.js";

const HOUR = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit" });

/**
 * `buckets`: [{start: Date, succeeded: n, failed: n}], oldest first.
 * Returns a figure with the chart, its legend and a text summary.
 */
export function chart(buckets, caption) {
  const width = 480;
  const height = 160;
  const bottom = 20;
  const slot = width / buckets.length;
  const bar = Math.max(1, (slot - 2) / 2);
  const highest = Math.max(1, ...buckets.map((b) => Math.max(b.succeeded, b.failed)));
  const scale = (n) => (n / highest) * (height - bottom - 10);
  const succeeded = buckets.reduce((sum, b) => sum + b.succeeded, 0);
  const failed = buckets.reduce((sum, b) => sum + b.failed, 0);
  const summary = `${succeeded} tentative${succeeded > 1 ? "s" : ""} réussie${succeeded > 1 ? "s" : ""} et ${failed} en échec ${caption}.`;
  const graphic = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary, id: "graphique-24h" });
  buckets.forEach((bucket, index) => {
    const x = index * slot + 1;
    const label = `${HOUR.format(bucket.start)} : ${bucket.succeeded} réussie(s), ${bucket.failed} en échec`;
    const ok = scale(bucket.succeeded);
    const ko = scale(bucket.failed);
    graphic.append(s("g", {},
      s("title", {}, label),
      s("rect", { class: "barre-succes", x, y: height - bottom - ok, width: bar, height: ok }),
      s("rect", { class: "barre-echec", x: x + bar, y: height - bottom - ko, width: bar, height: ko })));
    if (index % 6 === 0) {
      graphic.append(s("text", { x, y: height - 5 }, HOUR.format(bucket.start)));
    }
  });
  graphic.append(s("line", { class: "axe", x1: 0, x2: width, y1: height - bottom, y2: height - bottom }));
  return h("figure", { class: "graphique" },
    graphic,
    h("div", { class: "legende", "aria-hidden": "true" },
      h("span", {}, h("span", { class: "pastille succes" }), "Réussies"),
      h("span", {}, h("span", { class: "pastille echec" }), "En échec")),
    h("figcaption", {}, summary));
}

/** 24 hourly buckets ending with the current hour, filled from attempts. */
export function hourly(attempts, now) {
  const end = new Date(now);
  end.setMinutes(0, 0, 0);
  const buckets = [];
  for (let i = 23; i >= 0; i -= 1) {
    buckets.push({ start: new Date(end.getTime() - i * 3600e3), succeeded: 0, failed: 0 });
  }
  const first = buckets[0].start.getTime();
  for (const attempt of attempts) {
    const index = Math.floor((new Date(attempt.attempted_at).getTime() - first) / 3600e3);
    if (index < 0 || index > 23) continue;
    if (attempt.success) buckets[index].succeeded += 1;
    else buckets[index].failed += 1;
  }
  return buckets;
}
