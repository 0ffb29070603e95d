"""The platform-neutral core: questions in, verified cited answers out."""

from bot.models import Answer, AnswerStatus, Question, Source

__all__ = ["Answer", "AnswerStatus", "Question", "Source"]
