"""The built-in catalog `manage.py seed_catalog` installs: four skills in one category, a template each, a default agent.

Task types are the skill names, so a task's type says which skill produced it.
"""

CATEGORY = {"name": "productivity", "display_name": "Productivity",
            "description": "Everyday assistant work: calendars, reminders, follow-ups and trips", "sort_order": 0}

SKILLS = [
    {"name": "scheduling", "display_name": "Scheduling", "icon": "Calendar", "color": "#3B82F6",
     "description": "Schedule meetings and manage calendars"},
    {"name": "reminders", "display_name": "Reminders", "icon": "Bell", "color": "#F59E0B",
     "description": "Remind people of things at the right time"},
    {"name": "followups", "display_name": "Follow-ups", "icon": "Reply", "color": "#10B981",
     "description": "Chase replies and keep threads moving"},
    {"name": "travel", "display_name": "Travel", "icon": "Plane", "color": "#8B5CF6",
     "description": "Plan trips: flights, hotels and itineraries"},
]

TEMPLATES = [
    {"name": "schedule-meeting", "display_name": "Schedule a meeting", "skill": "scheduling",
     "task_type": "scheduling", "title_template": "Schedule {topic}",
     "description_template": "Find a time for {topic} with {attendees}",
     "steps": ["Collect availability", "Propose times", "Send the invitation"]},
    {"name": "set-reminder", "display_name": "Set a reminder", "skill": "reminders", "task_type": "reminders",
     "title_template": "Remind about {topic}", "description_template": "Send a reminder about {topic} at {when}",
     "steps": ["Confirm the reminder time", "Send the reminder"]},
    {"name": "follow-up", "display_name": "Follow up", "skill": "followups", "task_type": "followups",
     "title_template": "Follow up on {topic}", "description_template": "Chase a reply about {topic}",
     "steps": ["Draft the follow-up", "Send the follow-up", "Check for a reply"]},
    {"name": "plan-trip", "display_name": "Plan a trip", "skill": "travel", "task_type": "travel",
     "title_template": "Trip to {destination}", "description_template": "Plan travel to {destination}",
     "steps": ["Find flights", "Book a hotel", {"title": "Share the itinerary",
                                               "description": "Send the plan to the traveller"}]},
]

AGENT = {"name": "TSKR Assistant", "description": "The default agent behind assistants that name none",
         "model": "", "system_prompt": ("You are a helpful executive assistant. You schedule meetings, set "
                                        "reminders, follow up on threads and plan travel for the people you work "
                                        "for. Be concise and confirm what you did."),
         "temperature": 0.3, "max_tokens": 1024}
