"""Fixed texts the line sends, in English and Spanish. Short, warm, plain; one SMS segment where
possible (Spanish accents force UCS-2: two segments at most). Editable texts (crisis, HELP) are
settings instead; see settings.py."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "stop": {
        "en": "You're unsubscribed from {program} and won't get more texts. Text START to come "
        "back anytime. In crisis? Call or text 988.",
        "es": "Cancelaste {program} y no recibirás más mensajes. Escribe START para volver. "
        "¿En crisis? Llama o escribe al 988.",
    },
    "start": {
        "en": "Welcome back to {program}. You'll get texts from us again. Text HELP for help "
        "or STOP to opt out.",
        "es": "Bienvenido de nuevo a {program}. Volverás a recibir mensajes. Escribe AYUDA para "
        "ayuda o PARAR para salir.",
    },
    "greeting": {
        "en": "Hi, this is {program}. We're glad you reached out. Text HELP for info or STOP to "
        "opt out. In crisis? Call or text 988.",
        "es": "Hola, somos {program}. Nos alegra que escribas. Escribe AYUDA para info o PARAR "
        "para salir. ¿En crisis? Llama o escribe al 988.",
    },
    "supporter_ack": {
        "en": "Thanks, {name}. Nothing is waiting for you right now.",
        "es": "Gracias, {name}. No hay nada pendiente para ti ahora.",
    },
    "later": {
        "en": "No problem. We'll check in again in about an hour. Take care.",
        "es": "Claro. Te escribimos de nuevo en una hora. Cuídate.",
    },
    "no_pictures": {
        "en": "We can't pass on pictures here, only words, so we didn't keep it.",
        "es": "Aquí no podemos pasar fotos, solo palabras, así que no la guardamos.",
    },
    "crisis_page": {
        "en": "{program}: member {who} may be in crisis right now. They got 988/911 info. "
        "Please check the follow-up queue (#{followup}).",
        "es": "{program}: {who} puede estar en crisis ahora. Recibió info del 988/911. "
        "Revisa la cola de seguimiento (#{followup}).",
    },
    "peer_request_page": {
        "en": "{program}: member {who} would like to talk with a peer. "
        "Please check the follow-up queue (#{followup}).",
        "es": "{program}: {who} quiere hablar con un compañero. "
        "Revisa la cola de seguimiento (#{followup}).",
    },
    "flow_notice_page": {
        "en": "{program}: member {who} could use a kind word from someone. "
        "Please check the follow-up queue (#{followup}).",
        "es": "{program}: a {who} le vendría bien una palabra amable. "
        "Revisa la cola de seguimiento (#{followup}).",
    },
    # After several missed check-ins in a row: once, gently; nothing about recovery in either
    # version (`outreach_discreet` for members who asked for discreet wording).
    "outreach": {
        "en": "Hi {name}, just thinking of you. No pressure to check in; we're here when you "
        "want us. Text PEER any time.",
        "es": "Hola {name}, pensamos en ti. Sin presión para reportarte; aquí estamos cuando "
        "quieras. Escribe HABLAR cuando sea.",
    },
    "outreach_discreet": {
        "en": "Hi {name}, just thinking of you. No pressure at all; we're here whenever you "
        "want to talk. Text PEER any time.",
        "es": "Hola {name}, pensamos en ti. Sin presión; aquí estamos cuando quieras hablar. "
        "Escribe HABLAR cuando sea.",
    },
    "outreach_page": {
        "en": "{program}: member {who} hasn't checked in for a while; maybe reach out. "
        "Follow-up queue #{followup}.",
        "es": "{program}: {who} no se ha reportado en un tiempo; quizás escríbele. "
        "Cola de seguimiento #{followup}.",
    },
    "risk_page": {
        "en": "{program}: member {who} could use a check-in from a peer today. "
        "Please check the follow-up queue (#{followup}).",
        "es": "{program}: a {who} le vendría bien que un compañero le escriba hoy. "
        "Revisa la cola de seguimiento (#{followup}).",
    },
}

# How a text greets a member without a nickname.
NO_NAME = {"en": "there", "es": "de nuevo"}

VOICE_WELCOME = {
    "en": "Hi, you've reached {program}. For now this line works by text, so please text this "
    "number any time. If you are in crisis, hang up and call 9 8 8. If someone may be "
    "overdosing, call 9 1 1.",
    "es": "Hola, llamaste a {program}. Por ahora esta línea funciona por mensaje de texto: "
    "escríbenos a este número cuando quieras. Si estás en crisis, cuelga y llama al 9 8 8. "
    "Si alguien puede tener una sobredosis, llama al 9 1 1.",
}

VOICE_CRISIS = {
    "en": "If you are in crisis, hang up and call or text 9 8 8 now, any time. If someone may be "
    "overdosing, call 9 1 1 and give naloxone if you have it. We are letting a peer know.",
    "es": "Si estás en crisis, cuelga y llama o escribe al 9 8 8 ahora, a cualquier hora. Si alguien "
    "puede tener una sobredosis, llama al 9 1 1 y dale naloxona si tienes. Avisamos a un compañero.",
}


def text(key: str, language: str, **values: object) -> str:
    """The text `key` in `language` (English when there is no translation), filled in."""
    versions = TEXTS[key]
    return versions.get(language, versions["en"]).format(**values)
