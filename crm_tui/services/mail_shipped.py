"""The templates crm ships, in English and Russian. A desk's own (``crm template edit``) override them.

Each is one text: a ``Subject:`` line, a blank line, the body. Jinja2 syntax, rendered in a sandbox with:
``client`` (the person's name), ``company``, ``deal`` (``title``, ``amount``, ``number``), ``doc``
(``title``, ``number``, ``file``), ``manager`` (the sender's name), ``task`` (``title``, ``due``) and
``tasks`` (a list of them, for reminders).
"""

from __future__ import annotations

NAMES = ("proposal", "invoice", "act", "follow-up", "reminder", "auto-reply")

SHIPPED: dict[str, dict[str, str]] = {
    "en": {
        "proposal": """Subject: Proposal{% if deal %}: {{ deal.title }}{% endif %}

Dear {{ client }},

Thank you for your interest{% if company %} on behalf of {{ company }}{% endif %}. Please find our \
proposal attached{% if deal and deal.amount %}: {{ deal.amount }} in total{% endif %}.

If anything needs changing, just reply to this e-mail and we will adjust it.

Kind regards,
{{ manager }}
""",
        "invoice": """Subject: Invoice{% if doc and doc.number %} {{ doc.number }}{% endif %}\
{% if deal %} for {{ deal.title }}{% endif %}

Dear {{ client }},

Please find attached the invoice{% if doc and doc.number %} {{ doc.number }}{% endif %}\
{% if deal and deal.amount %} for {{ deal.amount }}{% endif %}.
Let us know once it is paid, or if you need any other details on it.

Kind regards,
{{ manager }}
""",
        "act": """Subject: Acceptance certificate{% if doc and doc.number %} {{ doc.number }}{% endif %}

Dear {{ client }},

The work{% if deal %} on {{ deal.title }}{% endif %} is done. Please find the acceptance certificate \
attached: sign it and send us back a copy.

Kind regards,
{{ manager }}
""",
        "follow-up": """Subject: Following up{% if deal %} on {{ deal.title }}{% endif %}

Dear {{ client }},

I am following up on our recent conversation. Have you had a chance to look at our proposal?
I will be glad to answer any questions.

Kind regards,
{{ manager }}
""",
        "reminder": """Subject: Overdue tasks: {{ tasks | length }}

{{ client }},

These tasks are overdue:
{% for task in tasks %}- {{ task.title }} (due {{ task.due }})
{% endfor %}
""",
        "auto-reply": """Subject: We have received your request

Dear {{ client }},

Thank you for contacting us{% if company %}, {{ company }}{% endif %}. We have received your request \
and a manager will get in touch with you shortly.

Kind regards,
{{ manager }}
""",
    },
    "ru": {
        "proposal": """Subject: Коммерческое предложение{% if deal %}: {{ deal.title }}{% endif %}

{{ client }}, добрый день!

Спасибо за интерес{% if company %} со стороны {{ company }}{% endif %}. Направляем коммерческое \
предложение во вложении{% if deal and deal.amount %}, сумма — {{ deal.amount }}{% endif %}.

Если что-то нужно поправить, просто ответьте на это письмо — всё учтём.

С уважением,
{{ manager }}
""",
        "invoice": """Subject: Счёт{% if doc and doc.number %} № {{ doc.number }}{% endif %}\
{% if deal %} по сделке «{{ deal.title }}»{% endif %}

{{ client }}, добрый день!

Во вложении счёт{% if doc and doc.number %} № {{ doc.number }}{% endif %}\
{% if deal and deal.amount %} на сумму {{ deal.amount }}{% endif %}.
Сообщите, пожалуйста, когда оплатите, или если нужны другие реквизиты.

С уважением,
{{ manager }}
""",
        "act": """Subject: Акт выполненных работ{% if doc and doc.number %} № {{ doc.number }}{% endif %}

{{ client }}, добрый день!

Работы{% if deal %} по сделке «{{ deal.title }}»{% endif %} выполнены. Во вложении акт: подпишите его, \
пожалуйста, и пришлите нам копию.

С уважением,
{{ manager }}
""",
        "follow-up": """Subject: По поводу нашего разговора{% if deal %}: {{ deal.title }}{% endif %}

{{ client }}, добрый день!

Пишу по поводу нашего недавнего разговора. Удалось ли посмотреть наше предложение?
С радостью отвечу на вопросы.

С уважением,
{{ manager }}
""",
        "reminder": """Subject: Просроченные задачи: {{ tasks | length }}

{{ client }},

Эти задачи просрочены:
{% for task in tasks %}- {{ task.title }} (срок {{ task.due }})
{% endfor %}
""",
        "auto-reply": """Subject: Мы получили вашу заявку

{{ client }}, здравствуйте!

Спасибо за обращение{% if company %} от {{ company }}{% endif %}. Мы получили вашу заявку, менеджер \
свяжется с вами в ближайшее время.

С уважением,
{{ manager }}
""",
    },
}
