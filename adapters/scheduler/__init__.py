"""The scheduler: APScheduler runs laurel's periodic jobs; the jobs only send core commands."""
