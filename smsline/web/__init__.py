"""HTTP edges: Twilio webhooks, health, the phone simulator."""
