// Entry point: who is signed in, the navigation, and the routes (in the
// URL fragment, so the server serves a single page).
import { api, explain } from "./api.js";
import { clear, h, message } from "./dom.js";
import { connexion } from "./pages/connexion.js";
import { evenements } from "./pages/evenements.js";
import { formulaire } from "./pages/formulaire.js";
import { webhook } from "./pages/webhook.js";
import { webhooks } from "./pages/webhooks.js";

const ROLES = {
  admin: "administrateur",
  conducteur: "conducteur de travaux",
  chef_chantier: "chef de chantier",
  compagnon: "compagnon",
};

const session = { user: null };
// Each page gets a signal aborted when the user leaves it (stops refreshes).
let leaving = new AbortController();

function main() {
  return document.getElementById("contenu");
}

function showNavigation() {
  const user = session.user;
  const nav = document.getElementById("navigation");
  nav.hidden = !user;
  document.getElementById("lien-evenements").hidden = !user || user.role !== "admin";
  document.getElementById("utilisateur").textContent =
    user ? `${user.prenom} ${user.nom} (${ROLES[user.role] || user.role})` : "";
  const hash = location.hash;
  for (const link of nav.querySelectorAll("a")) {
    if (hash.startsWith(link.getAttribute("href"))) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function whoAmI() {
  try {
    session.user = await api("GET", "/api/v1/auth/me");
  } catch (error) {
    session.user = null;
    if (error.status !== 401) throw error;
  }
}

/** Shows the page of the current fragment. */
async function route() {
  leaving.abort();
  leaving = new AbortController();
  const page = { main: clear(main()), signal: leaving.signal, user: session.user, signedIn };
  const parts = (location.hash || "#/webhooks").slice(2).split("/");
  try {
    if (!session.user) await whoAmI();
    page.user = session.user;
    showNavigation();
    if (!session.user) {
      connexion(page);
    } else if (parts[0] === "evenements") {
      await (session.user.role === "admin" ? evenements(page) : refused(page, "L'historique des événements est réservé aux administrateurs."));
    } else if (!["admin", "conducteur"].includes(session.user.role)) {
      refused(page, "Les webhooks sont réservés aux administrateurs et aux conducteurs de travaux.");
    } else if (parts[0] === "webhooks" && parts[1] === "nouveau") {
      await formulaire(page, null);
    } else if (parts[0] === "webhooks" && parts[1] && parts[2] === "modifier") {
      await formulaire(page, parts[1]);
    } else if (parts[0] === "webhooks" && parts[1]) {
      await webhook(page, parts[1]);
    } else {
      await webhooks(page);
    }
  } catch (error) {
    if (error.status === 401) return;
    page.main.append(message("erreur", explain(error)));
  }
  const title = page.main.querySelector("h1");
  if (title) {
    document.title = `${title.textContent} — Console des webhooks`;
    title.setAttribute("tabindex", "-1");
    // Keyboard and screen-reader users start at the new page's title.
    title.focus();
  }
}

function refused(page, text) {
  page.main.append(h("h1", {}, "Accès refusé"), message("info", text));
}

/** After a successful sign-in. */
async function signedIn() {
  await whoAmI();
  if (location.hash === "" || location.hash === "#/connexion") location.hash = "#/webhooks";
  else await route();
}

async function signOut() {
  try {
    await api("POST", "/api/v1/auth/logout");
  } catch {
    // The cookie is cleared by the answer; a failure leaves the page signed
    // out anyway, and the next call will say so.
  }
  session.user = null;
  location.hash = "#/connexion";
  await route();
}

window.addEventListener("hashchange", route);
window.addEventListener("session-perdue", () => {
  if (session.user) {
    session.user = null;
    route();
  }
});
document.getElementById("deconnexion").addEventListener("click", signOut);
route();
