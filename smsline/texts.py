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
    "later": {
        "en": "No problem. We'll check in again in about an hour. Take care.",
        "es": "Claro. Te escribimos de nuevo en una hora. Cuídate.",
    },
    # PAUSE with a number of days (keywords.pause_days): {date} is the member's local date of
    # the first check-in after the pause ("Friday, March 14" / "viernes 14 de marzo").
    "paused_days": {
        "en": "OK, check-ins are paused for {days} days and come back {date}. Text RESUME to "
        "restart sooner, or PEER any time.",
        "es": "Listo: check-ins en pausa {days} días; vuelven el {date}. Escribe "
        "REANUDAR para volver antes o HABLAR cuando quieras.",
    },
    "paused_a_day": {
        "en": "OK, check-ins are paused for 1 day and come back {date}. Text RESUME to restart "
        "sooner, or PEER any time.",
        "es": "Listo: check-ins en pausa 1 día; vuelven el {date}. Escribe REANUDAR "
        "para volver antes o HABLAR cuando quieras.",
    },
    "paused_days_no_checkin": {
        "en": "OK, check-ins are paused for {days} days. Text RESUME to restart sooner, or PEER "
        "any time.",
        "es": "Listo, pausamos los check-ins por {days} días. Escribe REANUDAR para volver "
        "antes, o HABLAR cuando quieras.",
    },
    "pause_range": {
        "en": "To pause check-ins, text PAUSE and a number of days from 1 to 90, like PAUSE 7. "
        "Or just PAUSE for more choices.",
        "es": "Para pausar los check-ins, escribe PAUSA y un número de días del 1 al 90, por "
        "ejemplo PAUSA 7. O solo PAUSA para más opciones.",
    },
    # Meeting reminders (meetings/reminders.py). {name} is the meeting's name, or for discreet
    # members `discreet_group`; {when} is "Mon & Thu 7pm CDT"; {at} "7pm CDT". The reminder
    # itself avoids accents in Spanish (GSM-7, 160 characters a segment).
    "reminder": {
        "en": "Reminder: {name} starts at {at}. {how}Reply REMIND OFF to stop these.",
        "es": "Recordatorio: {name} empieza a las {at}. {how}Responde RECORDAR NO para no "
        "recibirlos.",
    },
    "reminder_dial": {
        "en": "Dial {number}{extra}.",
        "es": "Marca {number}{extra}.",
    },
    "reminder_dial_id": {"en": ", ID {id}", "es": ", ID {id}"},
    "reminder_dial_code": {"en": ", code {code}", "es": ", clave {code}"},
    "reminder_link": {"en": "Join: {url}", "es": "Entra: {url}"},
    "reminder_place": {"en": "At {place}.", "es": "En {place}."},
    "discreet_group": {"en": "your group", "es": "tu grupo"},
    "remind_on": {
        "en": "Done: a reminder comes {minutes} min before {name}, {when}. Text REMIND OFF to "
        "stop.",
        "es": "Listo: te avisamos {minutes} min antes de {name}, {when}. Escribe RECORDAR NO "
        "para parar.",
    },
    "remind_off": {
        "en": "OK, no more reminders for {name} ({when}).",
        "es": "Listo, no más recordatorios de {name} ({when}).",
    },
    "remind_none_for": {
        "en": "You don't have reminders for {name} ({when}), so nothing to stop.",
        "es": "No tienes recordatorios de {name} ({when}), así que no hay nada que parar.",
    },
    "remind_list": {
        "en": "Your meeting reminders: {items} To stop one, text REMIND, its number and OFF, "
        "like REMIND 1 OFF.",
        "es": "Tus recordatorios: {items} Para quitar uno, escribe RECORDAR, su número y NO, "
        "por ejemplo RECORDAR 1 NO.",
    },
    "remind_list_empty": {
        "en": "You have no meeting reminders. Text MEETINGS to find a meeting, then REMIND and "
        "its number.",
        "es": "No tienes recordatorios de reuniones. Escribe REUNIONES para buscar una y luego "
        "RECORDAR y su número.",
    },
    "remind_no_list": {
        "en": "Text MEETINGS to find a meeting first, then REMIND and its number for a weekly "
        "reminder.",
        "es": "Primero escribe REUNIONES para buscar una reunión y luego RECORDAR y su número "
        "para un aviso semanal.",
    },
    "remind_not_on_list": {
        "en": "I don't see a number {number} on your last meeting list. Text MEETINGS to see it "
        "again, then REMIND and a number from it.",
        "es": "No veo el número {number} en tu última lista. Escribe REUNIONES para verla de "
        "nuevo y luego RECORDAR y un número.",
    },
    "remind_retired": {
        "en": "Sorry, that meeting is no longer listed. Text MEETINGS to find another.",
        "es": "Lo siento, esa reunión ya no está en la lista. Escribe REUNIONES para buscar otra.",
    },
    "remind_minutes_range": {
        "en": "A reminder can come {low} to {high} minutes before, like REMIND {n} 30.",
        "es": "El aviso puede llegar de {low} a {high} minutos antes, por ejemplo RECORDAR {n} 30.",
    },
    "remind_meeting_retired": {
        "en": "{name} is no longer on the meeting list, so reminders for it have stopped. Text "
        "MEETINGS to find another.",
        "es": "{name} ya no está en la lista de reuniones, así que sus recordatorios pararon. "
        "Escribe REUNIONES para buscar otra.",
    },
    "remind_meeting_retired_discreet": {
        "en": "Your {when} group is no longer on our list, so its reminders have stopped. Text "
        "MEETINGS to find another.",
        "es": "Tu grupo de {when} ya no está en nuestra lista, así que sus avisos pararon. "
        "Escribe REUNIONES para buscar otro.",
    },
    # DELETE (BORRAR) and its answer (erasure.py). Plain, one segment, nothing about recovery.
    "erase_confirm": {
        "en": "This erases everything we hold about you, for good. Reply YES within 15 min to "
        "erase, or anything else to keep it.",
        "es": "Esto borra para siempre todo lo que guardamos sobre ti. Responde SI en 15 min "
        "para borrarlo, o cualquier otra cosa para conservarlo.",
    },
    "erase_done": {
        "en": "Done: we erased everything we held about you and won't text you again. Text us "
        "anytime to start over. Crisis? Call or text 988.",
        "es": "Listo: borramos todo lo que guardamos sobre ti y no te escribiremos de nuevo. "
        "Puedes volver cuando quieras. ¿Crisis? Llama o escribe al 988.",
    },
    "erase_kept": {
        "en": "OK, nothing was erased. Everything stays as it was.",
        "es": "De acuerdo, no borramos nada. Todo sigue igual.",
    },
    "erase_late": {
        "en": "That came after 15 minutes, so nothing was erased. Text DELETE again if you still "
        "want it.",
        "es": "Se pasaron los 15 minutos: no borramos nada. Escribe BORRAR otra vez si lo sigues "
        "queriendo.",
    },
    "erase_nothing": {
        "en": "We don't hold anything about you to erase.",
        "es": "No guardamos nada sobre ti que borrar.",
    },
    "no_pictures": {
        "en": "We can't pass on pictures here, only words, so we didn't keep it.",
        "es": "Aquí no podemos pasar fotos, solo palabras, así que no la guardamos.",
    },
    # Moving a record to a new number (moves.py). `move_code` goes to the old number; the rest
    # to the new one. `move_code_sent` is the same whether or not the old number is a member's.
    "move_ask_old": {
        "en": "Let's move your record to this phone. What's the old number your texts came from?",
        "es": "Pasemos tu registro a este teléfono. ¿Cuál es el número viejo desde el que escribías?",
    },
    "move_code": {
        "en": "Someone asked to move your {program} record to a new number. If it's you, text "
        "this code from your new phone: {code}. If not, ignore this.",
        "es": "Alguien pidio pasar tu registro de {program} a un numero nuevo. Si eres tu, "
        "envia este codigo desde tu telefono nuevo: {code}. Si no, ignora esto.",
    },
    "move_code_sent": {
        "en": "If that number is with us, we've texted it a code. Text it here within 30 min. "
        "Can't get texts there? A coordinator can help.",
        "es": "Si ese número está con nosotros, le enviamos un código. Escríbelo aquí en 30 min. "
        "¿No te llegan? Un coordinador te ayuda.",
    },
    "move_bad_number": {
        "en": "Please send the old number with its area code, like 201-555-0142. Or text MENU.",
        "es": "Envía el número viejo con su código de área, como 201-555-0142. O escribe MENU.",
    },
    "move_done": {
        "en": "Done: your record is on this number now. Welcome back. Text HELP for info or STOP "
        "to opt out.",
        "es": "Listo: tu registro ya está en este número. Escribe AYUDA para info o PARAR para "
        "salir.",
    },
    "move_wrong_code": {
        "en": "That code doesn't match. Please check it and try again ({left} left).",
        "es": "Ese código no coincide. Revísalo e intenta de nuevo (te quedan {left}).",
    },
    "move_failed": {
        "en": "That code didn't match. To try again, text MOVE. A coordinator can also move "
        "your record.",
        "es": "Ese código no coincide. Para intentar de nuevo, escribe MUDAR. Un coordinador "
        "también puede pasar tu registro.",
    },
    "move_expired": {
        "en": "That code has expired. To start again, text MOVE.",
        "es": "Ese código ya venció. Para empezar de nuevo, escribe MUDAR.",
    },
    "move_have_record": {
        "en": "This number already has a record with us. To move a record, text MOVE from the "
        "new phone.",
        "es": "Este número ya tiene un registro con nosotros. Para pasar un registro, escribe "
        "MUDAR desde el teléfono nuevo.",
    },
    "move_too_many": {
        "en": "We can't send more codes today. A coordinator can move your record for you.",
        "es": "Hoy no podemos enviar más códigos. Un coordinador puede pasar tu registro.",
    },
    "circle_removal_page": {
        "en": "{program}: a facilitator removed {who} from a peer circle. Please check in with "
        "them kindly (follow-up #{followup}).",
        "es": "{program}: un facilitador sacó a {who} de un círculo. Por favor contáctale con "
        "cuidado (seguimiento #{followup}).",
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
    # Peers (pairing.py, supporters.py). Supporters see a nickname, never a number or words.
    "peer_finding": {
        "en": "Thanks for reaching out. We're finding a peer for you now; it usually takes a "
        "few minutes. If you're in danger, call or text 988.",
        "es": "Gracias por escribir. Estamos buscando un compañero para ti; suele tardar unos "
        "minutos. Si estás en peligro, llama o escribe al 988.",
    },
    "peer_nobody_on_call": {
        "en": "Sorry, no peer is on call right now. We'll text you as soon as someone is free. "
        "988 answers any hour, call or text.",
        "es": "Lo sentimos: no hay compañeros de turno ahora. Te avisamos en cuanto alguien "
        "pueda. El 988 atiende siempre.",
    },
    "peer_still_looking": {
        "en": "No peer is free yet, but we haven't forgotten you. We'll text the moment someone "
        "is. 988 answers any hour, call or text.",
        "es": "Seguimos buscando un compañero libre y no te olvidamos. Te avisamos en cuanto "
        "alguien pueda. El 988 atiende siempre.",
    },
    "warmline": {
        "en": "Or call the warmline, {warmline}.",
        "es": "O llama al {warmline}.",
    },
    "peer_already_looking": {
        "en": "We're still finding someone for you. Hang in there; we'll text you as soon as a "
        "peer is free.",
        "es": "Seguimos buscando a alguien para ti. Aguanta un poco; te escribimos en cuanto "
        "un compañero esté libre.",
    },
    "peer_still_promised": {
        "en": "We haven't forgotten you: we'll text the moment a peer is free. 988 answers any "
        "hour, by call or text.",
        "es": "No te olvidamos: te avisamos en cuanto un compañero esté libre. El 988 atiende "
        "siempre.",
    },
    "peer_already_paired": {
        "en": "You're already talking with {name}. Text here to reach them, DONE to end, or "
        "NEW PEER for someone else.",
        "es": "Ya estás hablando con {name}. Escribe aquí para hablarle, LISTO para terminar o "
        "NUEVO para otra persona.",
    },
    "peer_connected": {
        "en": "{name}, a peer from {program}, is here for you. Just text here. Text DONE when "
        "you're finished.",
        "es": "{name}, de {program}, está aquí para ti. Escribe aquí. Escribe LISTO cuando "
        "termines.",
    },
    "peer_offer": {
        "en": "{program}: a member would like to talk ({spoken}). Reply YES to take it or PASS.",
        "es": "{program}: alguien quiere hablar ({spoken}). Responde SI para tomarlo o PASO.",
    },
    "peer_won": {
        "en": "Thank you! You're connected with {who}. Texts you send to this number reach them; "
        "DONE ends it.",
        "es": "¡Gracias! Estás con {who}. Lo que escribas a este número le llega; LISTO para "
        "terminar.",
    },
    "peer_taken": {
        "en": "Thanks, {name}! Someone else already took that one.",
        "es": "¡Gracias, {name}! Otra persona ya lo tomó.",
    },
    "peer_passed": {
        "en": "No problem, thanks for letting us know.",
        "es": "Sin problema, gracias por avisar.",
    },
    "peer_nothing_to_take": {
        "en": "Thanks, {name}. There's no offer waiting for you right now.",
        "es": "Gracias, {name}. No hay ninguna oferta pendiente para ti ahora.",
    },
    "on_call_on": {
        "en": "You're on call until {until}. Text OFF to stop. Thank you!",
        "es": "Estás de turno hasta las {until}. Escribe OFF para parar. ¡Gracias!",
    },
    "on_call_off": {
        "en": "You're off call now. Thank you for being there.",
        "es": "Ya no estás de turno. Gracias por estar ahí.",
    },
    "status_on": {
        "en": "{name}: you're on call until {until}. Talking with: {who}.",
        "es": "{name}: estás de turno hasta las {until}. Hablando con: {who}.",
    },
    "status_off": {
        "en": "{name}: you're off call. Talking with: {who}. Text ON to go on call.",
        "es": "{name}: no estás de turno. Hablando con: {who}. Escribe ON para entrar.",
    },
    "supporter_help": {
        "en": "Supporter commands: ON, OFF, STATUS, YES to take an offer, PASS to decline.",
        "es": "Comandos: ON, OFF, STATUS, SI para tomar una oferta, PASO para declinar.",
    },
    "relay_ended_member": {
        "en": "Your chat with {name} has ended. How did it go? Reply 1 to 5 (5 = great), or "
        "skip it. Text PEER any time to talk again.",
        "es": "Terminó tu charla con {name}. ¿Cómo te fue? Responde del 1 al 5 (5 = muy bien) "
        "o ignóralo. Escribe HABLAR cuando quieras.",
    },
    "relay_ended_quietly": {
        "en": "This conversation has ended. Text PEER any time to talk with someone.",
        "es": "Esta conversación terminó. Escribe HABLAR cuando quieras hablar con alguien.",
    },
    "relay_handed_off": {
        "en": "{name} has asked one of our coordinators to take it from here; they'll text you "
        "shortly. In danger? Call or text 988.",
        "es": "{name} pidió a un coordinador que siga contigo; te escribirá pronto. ¿En "
        "peligro? Llama o escribe al 988.",
    },
    "relay_ended_supporter": {
        "en": "Your chat with {who} has ended. Thank you for being there.",
        "es": "Terminó tu charla con {who}. Gracias por estar ahí.",
    },
    "relay_moved_on": {
        "en": "{who} has moved on to another peer. Thank you for being there.",
        "es": "{who} siguió con otro compañero. Gracias por estar ahí.",
    },
    "relay_rated": {
        "en": "Thank you for telling us. Take care.",
        "es": "Gracias por contarnos. Cuídate.",
    },
    "relay_handoff_done": {
        "en": "Thanks. A coordinator is taking over with {who}; your chat has ended.",
        "es": "Gracias. Un coordinador sigue con {who}; tu charla terminó.",
    },
    "relay_backup_done": {
        "en": "The coordinators on call have been asked to back you up. Your chat goes on.",
        "es": "Pedimos apoyo a los coordinadores de turno. Tu charla sigue.",
    },
    "relay_block_done": {
        "en": "Done: you won't be offered this member again, and a coordinator will review it. "
        "Thank you.",
        "es": "Listo: no te ofreceremos a esta persona otra vez y un coordinador lo revisará. "
        "Gracias.",
    },
    "relay_who_for": {
        "en": "Who is this for? Start with their name, like: {example}: your message",
        "es": "¿Para quién es? Empieza con su nombre, así: {example}: tu mensaje",
    },
    "handoff_page": {
        "en": "{program}: a supporter handed {who} to the coordinators. Follow-up #{followup}.",
        "es": "{program}: un compañero pasó a {who} a los coordinadores. Seguimiento #{followup}.",
    },
    "backup_page": {
        "en": "{program}: a supporter asks for backup in their chat with {who}. "
        "Follow-up #{followup}.",
        "es": "{program}: un compañero pide apoyo en su charla con {who}. Seguimiento #{followup}.",
    },
    "block_page": {
        "en": "{program}: a supporter asked not to be offered {who} again; please review "
        "follow-up #{followup}.",
        "es": "{program}: un compañero pidió no recibir a {who} otra vez; revisa el "
        "seguimiento #{followup}.",
    },
    "shift_soon": {
        "en": "Hi {name}, your on-call shift starts at {at}. Thank you! Text OFF if you can't "
        "make it, so we know.",
        "es": "Hola {name}, tu turno empieza a las {at}. ¡Gracias! Escribe OFF si no puedes, "
        "para saberlo.",
    },
    "roster_gaps_page": {
        "en": "{program}: the roster has times with nobody on call in the coming week. "
        "Follow-up #{followup}; `smsline roster gaps` lists them.",
        "es": "{program}: en la próxima semana hay horas sin nadie de turno. Seguimiento "
        "#{followup}; `smsline roster gaps` las muestra.",
    },
    "relay_crisis_resources": {
        "en": "Your member may be in crisis; they were sent this: {resources}",
        "es": "Tu contacto puede estar en crisis; se le envió esto: {resources}",
    },
    "capacity_page": {
        "en": "{program}: at the current sending rate, some check-ins would go out over an hour "
        "late. Follow-up #{followup}; `smsline checkins capacity` shows the numbers.",
        "es": "{program}: con la velocidad de envío actual, algunos check-ins saldrían con más "
        "de una hora de retraso. Seguimiento #{followup}; ver `smsline checkins capacity`.",
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

# A peer by phone (voice_peer.py): spoken, so numbers are read digit by digit.
VOICE_PEER = {
    "ringing": {
        "en": "Thank you for calling. We're ringing a peer for you now. Please stay on the line.",
        "es": "Gracias por llamar. Estamos llamando a un compañero para ti. No cuelgues, por "
        "favor.",
    },
    "nobody": {
        "en": "We're sorry, no peer is on call right now.",
        "es": "Lo sentimos, ahora no hay compañeros de turno.",
    },
    "no_answer": {
        "en": "We're sorry, nobody could pick up just now.",
        "es": "Lo sentimos, nadie pudo contestar en este momento.",
    },
    "message_or_help": {
        "en": "Press 1 to leave a short message, and a peer will call you back through this "
        "line. Press 0 for crisis help, or call 9 8 8 any time.",
        "es": "Marca 1 para dejar un mensaje corto y un compañero te llamará por esta línea. "
        "Marca 0 para ayuda en crisis, o llama al 9 8 8 a cualquier hora.",
    },
    "record": {
        "en": "After the tone, tell us whatever you'd like. Hang up when you're done.",
        "es": "Después del tono, cuéntanos lo que quieras. Cuelga cuando termines.",
    },
    "saved": {
        "en": "Thank you. We've got your message, and a peer will call you back as soon as they "
        "can. Take care.",
        "es": "Gracias. Recibimos tu mensaje y un compañero te llamará lo antes posible. Cuídate.",
    },
    "goodbye": {
        "en": "Thank you for calling. Text or call us any time. If you're in crisis, call 9 8 8.",
        "es": "Gracias por llamar. Escríbenos o llámanos cuando quieras. En crisis, llama al "
        "9 8 8.",
    },
    "whisper": {
        "en": "A member of the line is calling. Press 1 to take the call.",
        "es": "Una persona de la línea está llamando. Marca 1 para tomar la llamada.",
    },
    "crisis_menu": {
        "en": "If someone may be overdosing, hang up and call 9 1 1, and give naloxone if you "
        "have it. Press 1 to be put through to the 9 8 8 crisis line now. Press 2 to reach our "
        "coordinator on call.",
        "es": "Si alguien puede tener una sobredosis, cuelga y llama al 9 1 1, y dale naloxona "
        "si tienes. Marca 1 para pasar a la línea de crisis 9 8 8. Marca 2 para hablar con "
        "nuestro coordinador de turno.",
    },
    "to_coordinator": {
        "en": "Putting you through to our coordinator on call.",
        "es": "Te pasamos con nuestro coordinador de turno.",
    },
    "to_988": {
        "en": "Putting you through to the 9 8 8 crisis line.",
        "es": "Te pasamos a la línea de crisis 9 8 8.",
    },
    "their_message": {
        "en": "Here is the member's message. Then we'll put you through.",
        "es": "Este es el mensaje de la persona. Después te conectamos.",
    },
}


def text(key: str, language: str, **values: object) -> str:
    """The text `key` in `language` (English when there is no translation), filled in."""
    versions = TEXTS[key]
    return versions.get(language, versions["en"]).format(**values)
