// One webhook: its state and actions, the last 24 hours in a chart, its
// delivery log (filters, details, retry) and the recovery of a period.
import { api, explain, query } from "../api.js";
import { chart, hourly } from "../chart.js";
import { announce, busy, confirmDialog, date, field, h, message, secretPanel } from "../dom.js";
import { remove, setActive, stateBadge } from "./webhooks.js";

const PAGE = 20;
const DELIVERY = {
  pending: ["Nouvelle tentative prévue", "attente"],
  in_flight: ["En cours d'envoi", "attente"],
  succeeded: ["Livrée", "succes"],
  failed: ["Échec définitif", "echec"],
  cancelled: ["Annulée (webhook désactivé)", "echec"],
};
const ERRORS = {
  timeout: "délai dépassé",
  connect: "connexion impossible",
  dns: "nom introuvable",
  ssrf_refused: "adresse refusée",
  tls: "erreur TLS",
  http_status: "statut HTTP en échec",
  redirect: "redirection refusée",
};
// In this order (an object would list its numeric keys first).
const PERIODS = [["", "Toute la période"], ["1", "Dernière heure"], ["24", "Dernières 24 heures"], ["168", "7 derniers jours"]];

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { window.clearTimeout(timer); resolve(); }, { once: true });
  });
}

function hoursAgo(hours) {
  return new Date(Date.now() - hours * 3600e3).toISOString();
}

const HEADERS = {
  "content-type": "Le corps est du JSON.",
  "user-agent": "L'émetteur.",
  "webhook-id": "L'identifiant de l'événement, le même à chaque tentative : dédoublonnez avec.",
  "webhook-timestamp": "L'heure de la tentative, en secondes Unix.",
  "webhook-signature": "« v1, » suivi du HMAC-SHA256 (base64) de « id.horodatage.corps », pour chaque secret en vigueur.",
  "x-hub-chantier-event": "Le type d'événement.",
  "x-hub-chantier-signature": "Signature historique : « sha256= » suivi du HMAC-SHA256 (hexadécimal) du corps.",
};

/** The exact body and the headers the delivery's attempts send. */
async function showRequest(base, deliveryId, container) {
  try {
    const delivery = await api("GET", `${base}/deliveries/${encodeURIComponent(deliveryId)}`);
    container.append(
      h("h3", {}, "En-têtes envoyés"),
      h("table", { class: "cartes en-tetes" },
        h("thead", {}, h("tr", {}, ["En-tête", "Valeur"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, delivery.headers.map((header) => h("tr", {},
          h("td", { "data-libelle": "En-tête" }, h("code", {}, header.name)),
          h("td", { "data-libelle": "Valeur" },
            header.value === null ? h("span", { class: "vide" }, "calculé à chaque tentative") : h("code", {}, header.value),
            h("span", { class: "aide" }, HEADERS[header.name] || "")))))),
      h("h3", {}, "Corps envoyé (à l'octet près)"),
      h("pre", { class: "corps" }, delivery.payload));
  } catch (error) {
    container.append(message("erreur", explain(error)));
  }
}

export async function webhook(page, id) {
  const base = `/api/v1/webhooks/${encodeURIComponent(id)}`;
  const [hook, catalog] = await Promise.all([api("GET", base), api("GET", "/api/v1/event-types")]);
  let current = hook;
  const feedback = h("div", { id: "retour" });
  const say = (kind, ...text) => feedback.replaceChildren(message(kind, ...text));
  const sheet = h("dl", { class: "fiche" });
  const actions = h("div", { class: "actions" });
  const chartBox = h("div", { id: "activite" });

  // The log, its filters and its paging.
  const success = h("select", { name: "success" },
    h("option", { value: "" }, "Toutes"), h("option", { value: "true" }, "Réussies"), h("option", { value: "false" }, "En échec"));
  const type = h("select", { name: "event_type" }, h("option", { value: "" }, "Tous les types"),
    catalog.event_types.map((t) => h("option", { value: t.event_type }, t.event_type)));
  const period = h("select", { name: "periode" }, PERIODS.map(([v, label]) => h("option", { value: v }, label)));
  const filters = h("form", { class: "filtres", id: "filtres-journal" },
    field("filtre-resultat", "Résultat", success),
    field("filtre-type", "Type d'événement", type),
    field("filtre-periode", "Période", period),
    h("button", { type: "submit", class: "secondaire" }, "Filtrer"));
  const refresh = h("button", { type: "button", class: "secondaire", id: "actualiser" }, "Actualiser");
  const logBody = h("tbody");
  const logCount = h("p", { id: "journal-total", role: "status" });
  const older = h("button", { type: "button", class: "secondaire" }, "Plus anciennes");
  const newer = h("button", { type: "button", class: "secondaire" }, "Plus récentes");
  let skip = 0;
  let total = 0;

  const loadLog = async () => {
    const hours = period.value;
    const answer = await api("GET", `${base}/deliveries${query({
      limit: PAGE, skip, success: success.value, event_type: type.value, since: hours ? hoursAgo(Number(hours)) : "",
    })}`);
    total = answer.total;
    logBody.replaceChildren();
    if (answer.deliveries.length === 0) {
      logBody.append(h("tr", {}, h("td", { colspan: 8, class: "vide" }, "Aucune tentative de livraison.")));
    }
    for (const attempt of answer.deliveries) logBody.append(...rows(attempt));
    logCount.textContent = total === 0 ? "" :
      `Tentatives ${skip + 1} à ${skip + answer.deliveries.length} sur ${total}, les plus récentes d'abord.`;
    older.hidden = skip + PAGE >= total;
    newer.hidden = skip === 0;
    return answer.deliveries;
  };

  const loadChart = async () => {
    const answer = await api("GET", `${base}/deliveries${query({ limit: 100, since: hoursAgo(24) })}`);
    const caption = answer.total > answer.deliveries.length
      ? `sur les ${answer.deliveries.length} dernières des 24 dernières heures (${answer.total} en tout)`
      : "sur les 24 dernières heures";
    chartBox.replaceChildren(chart(hourly(answer.deliveries, Date.now()), caption));
  };

  const rows = (attempt) => {
    const [status, tone] = DELIVERY[attempt.delivery_status] || [attempt.delivery_status, "attente"];
    const detailId = `detail-${attempt.id}`;
    const detail = h("tr", { class: "detail", id: detailId, hidden: true },
      h("td", { colspan: 8 }, h("dl", { class: "fiche" },
        h("dt", {}, "Événement"), h("dd", {}, h("code", {}, attempt.event_id)),
        h("dt", {}, "Livraison"), h("dd", {}, h("code", {}, attempt.delivery_id)),
        h("dt", {}, "Message d'erreur"), h("dd", {}, attempt.error_message || "—"),
        h("dt", {}, "Réponse (premier Kio)"), h("dd", {}, attempt.response_body ? h("pre", {}, attempt.response_body) : "—"))));
    const sent = h("div", { class: "envoi" });
    detail.firstChild.append(sent);
    const more = h("button", { type: "button", class: "secondaire petit", "aria-expanded": "false", "aria-controls": detailId }, "Détails");
    more.addEventListener("click", async () => {
      detail.hidden = !detail.hidden;
      more.setAttribute("aria-expanded", String(!detail.hidden));
      if (!detail.hidden && !sent.hasChildNodes()) await showRequest(base, attempt.delivery_id, sent);
    });
    const retry = h("button", { type: "button", class: "petit renvoyer" }, "Renvoyer");
    retry.addEventListener("click", () => busy(retry, async () => {
      try {
        await api("POST", `${base}/deliveries/${encodeURIComponent(attempt.delivery_id)}/retry`);
        say("succes", "Livraison renvoyée : la nouvelle tentative apparaîtra dans le journal.");
        follow();
      } catch (error) {
        say("erreur", explain(error));
      }
    }));
    const row = h("tr", { "data-tentative": attempt.id, "data-livraison": attempt.delivery_id, "data-resultat": attempt.success ? "succes" : "echec" },
      h("td", { "data-libelle": "Date" }, date(attempt.attempted_at)),
      h("td", { "data-libelle": "Événement" }, h("code", {}, attempt.event_type)),
      h("td", { "data-libelle": "Tentative", class: "nombre" }, `n° ${attempt.attempt}`),
      h("td", { "data-libelle": "Résultat" }, h("span", { class: `etat ${attempt.success ? "succes" : "echec"}` }, attempt.success ? "Réussie" : "Échec")),
      h("td", { "data-libelle": "Statut HTTP", class: "nombre statut-http" }, attempt.status_code === null ? "—" : String(attempt.status_code)),
      h("td", { "data-libelle": "Durée", class: "nombre" }, `${attempt.duration_ms} ms`),
      h("td", { "data-libelle": "Erreur" }, attempt.error_kind ? (ERRORS[attempt.error_kind] || attempt.error_kind) : "—"),
      h("td", { "data-libelle": "Livraison" }, h("span", { class: `etat ${tone}` }, status),
        h("div", { class: "actions" }, more, retry)));
    return [row, detail];
  };

  // After an action, the log is read again every few seconds until the
  // attempt it caused shows (at most a minute: reads are rate limited).
  let following = false;
  const follow = async () => {
    if (following) return;
    following = true;
    const before = total;
    try {
      for (let i = 0; i < 15 && !page.signal.aborted; i += 1) {
        await sleep(4000, page.signal);
        if (page.signal.aborted) break;
        const shown = await loadLog();
        if (total > before && !shown.some((a) => a.delivery_status === "in_flight")) {
          announce("Le journal des livraisons a une nouvelle tentative.");
          await Promise.all([loadChart(), reload()]);
          break;
        }
      }
    } catch (error) {
      say("erreur", explain(error));
    } finally {
      following = false;
    }
  };

  const reload = async () => {
    current = await api("GET", base);
    draw();
  };

  const draw = () => {
    const w = current;
    sheet.replaceChildren(
      h("dt", {}, "État"), h("dd", { id: "etat-webhook" }, stateBadge(w), w.disabled_reason ? ` — ${w.disabled_reason}` : ""),
      h("dt", {}, "Échecs consécutifs"), h("dd", {}, String(w.consecutive_failures)),
      h("dt", {}, "Dernière livraison"), h("dd", {}, date(w.last_triggered_at)),
      h("dt", {}, "Dernière erreur"), h("dd", {}, w.last_error ? `${w.last_error} (${date(w.last_error_at)})` : "—"),
      h("dt", {}, "Événements"), h("dd", {}, w.events.map((e) => h("code", {}, e)).flatMap((c, i) => (i ? [", ", c] : [c]))),
      h("dt", {}, "Description"), h("dd", {}, w.description || "—"),
      h("dt", {}, "Nouvelles tentatives"), h("dd", {}, w.retry_enabled ? `oui, ${w.max_retries} au plus` : "non"),
      h("dt", {}, "Signature historique"), h("dd", {}, w.legacy_signature ? "oui" : "non"),
      h("dt", {}, "Ancien secret valable jusqu'au"), h("dd", {}, date(w.previous_secret_expires_at)),
      h("dt", {}, "Créé le"), h("dd", {}, date(w.created_at)));
    const test = h("button", { type: "button", id: "envoyer-test" }, "Envoyer un événement de test");
    test.addEventListener("click", () => busy(test, async () => {
      try {
        const sent = await api("POST", `${base}/test`);
        say("succes", `Événement de test envoyé (événement ${sent.event_id}) : son résultat apparaîtra dans le journal.`);
        follow();
      } catch (error) {
        say("erreur", explain(error));
      }
    }));
    const toggle = h("button", { type: "button", class: "secondaire", id: "basculer-etat" }, w.is_active ? "Désactiver" : "Activer");
    toggle.addEventListener("click", () => busy(toggle, async () => {
      try {
        current = await setActive(w, !w.is_active);
        say("succes", current.is_active ? "Webhook activé." : "Webhook désactivé : plus aucune livraison ne part.");
        draw();
      } catch (error) {
        say("erreur", explain(error));
      }
    }));
    const rotate = h("button", { type: "button", class: "secondaire", id: "renouveler-secret" }, "Renouveler le secret");
    rotate.addEventListener("click", async () => {
      const sure = await confirmDialog("Renouveler le secret ?",
        "Un nouveau secret signe les livraisons dès maintenant ; l'ancien les signe aussi pendant 24 heures, le temps de mettre à jour le récepteur.",
        "Renouveler");
      if (!sure) return;
      try {
        const rotated = await api("POST", `${base}/rotate-secret`, {});
        feedback.replaceChildren(secretPanel(rotated.secret, "Secret renouvelé."));
        await reload();
      } catch (error) {
        say("erreur", explain(error));
      }
    });
    const del = h("button", { type: "button", class: "danger", id: "supprimer" }, "Supprimer");
    del.addEventListener("click", async () => {
      try {
        if (await remove(w)) location.hash = "#/webhooks";
      } catch (error) {
        say("erreur", explain(error));
      }
    });
    actions.replaceChildren(test,
      h("a", { class: "bouton secondaire", href: `#/webhooks/${encodeURIComponent(w.id)}/modifier`, id: "modifier" }, "Modifier"),
      toggle, rotate, del);
  };

  // Recovery of a period.
  const since = h("input", { type: "datetime-local", required: true });
  const until = h("input", { type: "datetime-local" });
  const recoverButton = h("button", { type: "submit" }, "Renvoyer les livraisons de la période");
  const recover = h("form", { class: "filtres", id: "reprise" },
    field("reprise-depuis", "Depuis", since), field("reprise-jusqu-a", "Jusqu'à (facultatif)", until), recoverButton);
  recover.addEventListener("submit", (event) => {
    event.preventDefault();
    return busy(recoverButton, async () => {
      try {
        const body = { since: new Date(since.value).toISOString() };
        if (until.value) body.until = new Date(until.value).toISOString();
        const done = await api("POST", `${base}/recover`, body);
        const skipped = done.skipped > 0
          ? ` ${done.skipped} ignorée${done.skipped > 1 ? "s" : ""} : le propriétaire n'y a plus accès.`
          : "";
        say("succes", `${done.requeued} livraison${done.requeued > 1 ? "s" : ""} remise${done.requeued > 1 ? "s" : ""} en file.${skipped}`);
        if (done.requeued > 0) follow();
      } catch (error) {
        say("erreur", explain(error));
      }
    });
  });

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    skip = 0;
    loadLog().catch((error) => say("erreur", explain(error)));
  });
  refresh.addEventListener("click", () => busy(refresh, () =>
    Promise.all([loadLog(), loadChart(), reload()]).catch((error) => say("erreur", explain(error)))));
  older.addEventListener("click", () => { skip += PAGE; loadLog().catch((error) => say("erreur", explain(error))); });
  newer.addEventListener("click", () => { skip = Math.max(0, skip - PAGE); loadLog().catch((error) => say("erreur", explain(error))); });

  draw();
  page.main.append(
    h("p", {}, h("a", { href: "#/webhooks" }, "← Tous les webhooks")),
    h("h1", {}, "Webhook"),
    h("p", { class: "url" }, h("strong", {}, "Destination : "), current.url),
    feedback, actions, sheet,
    h("h2", {}, "Activité des dernières 24 heures"), chartBox,
    h("h2", { id: "titre-journal" }, "Journal des livraisons"),
    filters,
    h("div", { class: "actions" }, refresh),
    logCount,
    h("table", { class: "cartes", id: "journal", "aria-labelledby": "titre-journal" },
      h("thead", {}, h("tr", {},
        ["Date", "Événement", "Tentative", "Résultat", "Statut HTTP", "Durée", "Erreur", "Livraison"].map((title) => h("th", { scope: "col" }, title)))),
      logBody),
    h("div", { class: "actions" }, newer, older),
    h("h2", {}, "Renvoyer une période"),
    h("p", {}, "Après une panne du récepteur : remet en file les livraisons créées dans la période qui n'ont pas abouti."),
    recover);
  await Promise.all([loadLog(), loadChart()]);
}
