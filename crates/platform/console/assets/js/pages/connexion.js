// Sign-in form: the API's cookie mode (the token lands in an HttpOnly
// cookie the page never sees).
import { api, explain } from "../api.js";
import { busy, field, h, message } from "../dom.js";

export function connexion(page) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const errors = h("div");
  const submit = h("button", { type: "submit", id: "se-connecter" }, "Se connecter");
  const form = h("form", { id: "formulaire-connexion", novalidate: false },
    field("email", "Adresse e-mail", email),
    field("mot-de-passe", "Mot de passe", password),
    errors,
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    await busy(submit, async () => {
      try {
        await api("POST", "/api/v1/auth/login", { email: email.value, password: password.value });
        password.value = "";
        await page.signedIn();
      } catch (error) {
        errors.append(message("erreur", explain(error)));
        password.focus();
      }
    });
  });
  page.main.append(h("h1", {}, "Connexion"),
    h("p", {}, "Connectez-vous avec votre compte Hub Chantier pour gérer vos webhooks."),
    form);
}
