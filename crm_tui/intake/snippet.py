"""A ready HTML form for a landing page: the visible fields, the hidden ones and a few lines of script.

The script copies the UTM tags (and Yandex/Google click ids) from the page's own address into the hidden
fields, with the page address and the visitor's referrer, so a plain HTML form carries where the lead
came from. The server also reads them from the page address, so the form still works without script.
"""

from __future__ import annotations

import html

from crm_tui.services.intake import HONEYPOT, UTM_FIELDS, FormView

LABELS = {
    "en": {
        "name": "Your name",
        "phone": "Phone",
        "email": "E-mail",
        "company": "Company",
        "comment": "Comment",
        "submit": "Call me back",
        "honeypot": "Leave this field empty",
    },
    "ru": {
        "name": "Ваше имя",
        "phone": "Телефон",
        "email": "E-mail",
        "company": "Компания",
        "comment": "Комментарий",
        "submit": "Перезвоните мне",
        "honeypot": "Оставьте это поле пустым",
    },
}

SCRIPT = """<script>
(function () {
  var form = document.getElementById(%(form_id)s);
  var params = new URLSearchParams(window.location.search);
  ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "yclid", "gclid"].forEach(
    function (name) {
      if (form.elements[name] && params.get(name)) form.elements[name].value = params.get(name);
    });
  form.elements.page_url.value = window.location.href;
  form.elements.referrer.value = document.referrer;
})();
</script>"""


def snippet(form: FormView, base_url: str, lang: str = "en") -> str:
    """The HTML to paste into a landing page for ``form``, posting to the server at ``base_url``."""
    words = LABELS.get(lang, LABELS["en"])
    action = f"{base_url.rstrip('/')}/forms/{form.key}"
    form_id = f"crm-form-{form.key[:8]}"

    def field(name: str, kind: str, required: bool = False, extra: str = "") -> str:
        star = " *" if required else ""
        return (
            f"  <label>{html.escape(words[name])}{star}<br>\n"
            f'    <input type="{kind}" name="{name}"{" required" if required else ""}{extra}></label><br>\n'
        )

    hidden = "".join(
        f'  <input type="hidden" name="{name}">\n'
        for name in (*UTM_FIELDS, "yclid", "gclid", "page_url", "referrer")
    )
    return (
        f"<!-- crm-tui form {html.escape(form.name)} -->\n"
        f'<form id="{form_id}" action="{html.escape(action)}" method="post" '
        'accept-charset="utf-8">\n'
        + field("name", "text", True, ' maxlength="300" autocomplete="name"')
        + field("phone", "tel", True, ' maxlength="32" autocomplete="tel"')
        + field("email", "email", False, ' maxlength="320" autocomplete="email"')
        + field("company", "text", False, ' maxlength="300" autocomplete="organization"')
        + f"  <label>{html.escape(words['comment'])}<br>\n"
        '    <textarea name="comment" maxlength="5000"></textarea></label><br>\n'
        + hidden
        + '  <div style="position:absolute;left:-10000px" aria-hidden="true">\n'
        f'    <label>{html.escape(words["honeypot"])} <input type="text" name="{HONEYPOT}" '
        'tabindex="-1" autocomplete="off"></label>\n'
        "  </div>\n"
        f'  <button type="submit">{html.escape(words["submit"])}</button>\n'
        "</form>\n" + SCRIPT % {"form_id": f'"{form_id}"'} + "\n"
    )
