"""privalytics: self-hosted, privacy-first web analytics."""
