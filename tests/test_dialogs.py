"""The dialog memory through `gz.dialogs`, on SQLite and PostgreSQL, against a real local Ollama-speaking server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from gazette.app import Gazette
from gazette.auth import Principal, Role
from gazette.dialogs import Answer, AskEvent, AskStarted
from gazette.errors import InvalidInputError, NotFoundError, PermissionDeniedError, ProviderError
from gazette.providers import TextDelta
from gazette.settings import load_settings
from gazette.store.tables import dialog_summaries, terminal_dialogs
from gazette.store.types import utcnow
from tests.model_servers import ANSWER, ModelServer

ROUTES = {"llama": "ollama:llama3.2"}


@pytest.fixture
def ollama() -> Iterator[ModelServer]:
    server = ModelServer("ollama").listen()
    yield server
    server.stop()


def make_gazette(store_url: str, ollama: ModelServer, **overrides: Any) -> Gazette:
    loaded = load_settings(
        **{
            "store": {"url": store_url},
            "providers": {"ollama": {"url": ollama.url}, "retry_backoff_seconds": []},
            "models": {"routes": ROUTES},
            **overrides,
        }
    )
    return Gazette(loaded.settings, loaded=loaded)


@pytest.fixture
def gz(store_url: str, ollama: ModelServer) -> Iterator[Gazette]:
    gazette = make_gazette(store_url, ollama)
    yield gazette
    gazette.close()


def ask(gz: Gazette, prompt: str, principal: Principal | None = None, **options: Any) -> list[AskEvent]:
    return list(gz.dialogs.ask(principal or gz.local_owner(), prompt, **{"model": "llama", **options}))


def answer_of(events: list[AskEvent]) -> Answer:
    started, *deltas, answer = events
    assert isinstance(started, AskStarted)
    assert all(isinstance(event, TextDelta) for event in deltas)
    assert isinstance(answer, Answer)
    return answer


def person(user: str, *scopes: str) -> Principal:
    return Principal(
        user=user,
        workspace="default",
        role=Role.personal,
        scopes=frozenset(scopes or ("models:use", "dialogs:read", "dialogs:write")),
        kind="token",
    )


def stored_rows(gz: Gazette) -> list[Any]:
    """Every row of terminal_dialogs, deleted ones included, as the system sees them."""
    with gz.store.begin() as conn:
        return list(conn.execute(select(terminal_dialogs).order_by(terminal_dialogs.c.id)))


# --------------------------------------------------------------------------- asking and recording


def test_ask_streams_the_answer_and_records_the_question_and_the_answer(gz: Gazette, ollama: ModelServer) -> None:
    events = ask(gz, "Why is the sky blue?")
    answer = answer_of(events)
    assert "".join(event.text for event in events if isinstance(event, TextDelta)) == ANSWER
    assert len(events) > 3
    assert (answer.answer, answer.route, answer.model) == (ANSWER, "llama", "ollama:llama3.2")
    assert (answer.prompt_tokens, answer.completion_tokens, answer.captured, answer.interrupted) == (
        31,
        10,
        True,
        False,
    )
    assert answer.latency_ms is not None
    [sent] = ollama.chats()
    assert sent.body["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]
    dialog = gz.dialogs.get_session(gz.local_owner(), answer.session)
    question, reply = dialog.turns
    assert (question.turn_number, question.role, question.content, question.tokens_used) == (
        1,
        "user",
        "Why is the sky blue?",
        31,
    )
    assert (reply.turn_number, reply.role, reply.content, reply.tokens_used) == (2, "assistant", ANSWER, 10)
    assert (reply.model, reply.route, reply.latency_ms, reply.interrupted) == (
        "ollama:llama3.2",
        "llama",
        answer.latency_ms,
        False,
    )
    assert question.context_window == reply.context_window == 0
    assert dialog.session.title == "Why is the sky blue?"


def test_a_system_prompt_is_sent_ahead_and_recorded_as_the_first_turn(gz: Gazette, ollama: ModelServer) -> None:
    answer = answer_of(ask(gz, "Why?", system="Answer in one sentence."))
    assert ollama.chats()[0].body["messages"][0] == {"role": "system", "content": "Answer in one sentence."}
    turns = gz.dialogs.get_session(gz.local_owner(), answer.session).turns
    assert [(turn.role, turn.content) for turn in turns] == [
        ("system", "Answer in one sentence."),
        ("user", "Why?"),
        ("assistant", ANSWER),
    ]
    assert turns[1].context_window == 6  # the system prompt: 23 characters, 4 to a token, rounded up


@pytest.mark.parametrize(
    ("prompt", "model", "error", "message"),
    [
        ("   \n", "llama", InvalidInputError, "the prompt is empty"),
        ("Why?", "gpt-9", NotFoundError, "unknown model 'gpt-9'"),
    ],
)
def test_an_empty_prompt_or_unknown_model_is_refused_before_anything_is_sent_or_recorded(
    gz: Gazette, ollama: ModelServer, prompt: str, model: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        gz.dialogs.ask(gz.local_owner(), prompt, model=model)
    assert ollama.chats() == []
    assert stored_rows(gz) == []


def test_no_capture_for_one_call_records_nothing(gz: Gazette) -> None:
    answer = answer_of(ask(gz, "Off the record?", capture=False))
    assert (answer.answer, answer.captured) == (ANSWER, False)
    assert stored_rows(gz) == []


@pytest.mark.parametrize("how", ["setting", "user's choice"])
def test_capture_turned_off_records_nothing_and_the_state_says_why(
    store_url: str, ollama: ModelServer, how: str
) -> None:
    gz = make_gazette(store_url, ollama, training={"capture": how != "setting"})
    owner = gz.local_owner()
    if how == "user's choice":
        gz.dialogs.set_capture(owner, enabled=False)
    assert answer_of(ask(gz, "Anyone listening?")).captured is False
    assert stored_rows(gz) == []
    state = gz.dialogs.capture_state(owner)
    assert (state.enabled, state.sessions, state.turns) == (False, 0, 0)
    if how == "setting":
        assert (state.source, state.changed_at) == ("setting training.capture (override)", None)
    else:
        assert state.source == "chosen with gazette training capture"
        assert state.changed_at is not None
    gz.close()


def test_a_users_choice_outranks_the_setting_and_persists(store_url: str, ollama: ModelServer) -> None:
    gz = make_gazette(store_url, ollama, training={"capture": False})
    owner = gz.local_owner()
    assert gz.dialogs.set_capture(owner, enabled=True).enabled
    gz.close()
    again = make_gazette(store_url, ollama, training={"capture": False})
    assert answer_of(ask(again, "Recorded now?")).captured
    state = again.dialogs.capture_state(again.local_owner())
    assert (state.enabled, state.sessions, state.turns) == (True, 1, 2)
    assert [entry.payload for entry in again.audit.list_entries(owner, event="dialogs.capture")] == [{"enabled": True}]
    again.close()


SECRETS = {
    "openai key": "sk-proj-Zq8XbT3kLm9vWc2RdY7nPa4s",
    "github token": "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z",
    "gazette token": "gzt_4f9K2mQ7xV1bN8cR3tY6",
    "private key": "MIIEowIBAAKCAQEA7x9Qm2KvR8sT1uW4yZ6aB3cD5eF7gH9iJ0kL2mN4oP6q",
    "url password": "s3cr3t-Pa55w0rd",
    "password assignment": "hunter2-Horse-Battery",
}


def test_secrets_are_redacted_before_they_are_stored(gz: Gazette, home: Path) -> None:
    prompt = (
        f"My key is {SECRETS['openai key']} and my token {SECRETS['github token']}, "
        f"gazette {SECRETS['gazette token']}.\n-----BEGIN RSA PRIVATE KEY-----\n{SECRETS['private key']}\n"
        f"-----END RSA PRIVATE KEY-----\nDB: postgresql://ada:{SECRETS['url password']}@db.internal/app "
        f"and password={SECRETS['password assignment']}"
    )
    answer = answer_of(ask(gz, prompt, system=f"Never repeat {SECRETS['openai key']}"))
    owner = gz.local_owner()
    echoed = gz.dialogs.record_turn(
        owner, session=answer.session, role="assistant", content=f"You said {SECRETS['github token']}"
    )
    assert echoed is not None
    assert echoed.content == "You said ***"
    contents = "\n".join(row.content for row in stored_rows(gz))
    for name, secret in SECRETS.items():
        assert secret not in contents, name
    assert "postgresql://ada:***@db.internal/app" in contents
    if gz.store.backend == "sqlite":
        gz.store.dispose()
        raw = b"".join(path.read_bytes() for path in home.glob("gazette.db*"))
        assert b"My key is ***" in raw
        for name, secret in SECRETS.items():
            assert secret.encode() not in raw, name


# --------------------------------------------------------------------------- sessions


def test_questions_continue_the_latest_session_until_it_is_idle_or_a_new_one_is_asked_for(gz: Gazette) -> None:
    first = answer_of(ask(gz, "One"))
    assert answer_of(ask(gz, "Two")).session == first.session
    fresh = answer_of(ask(gz, "Three", new=True))
    assert fresh.session != first.session
    assert answer_of(ask(gz, "Four", session=first.session[:8])).session == first.session
    with gz.store.begin() as conn:  # every turn is now 31 minutes old: idle past the 30-minute default
        conn.execute(update(terminal_dialogs).values(timestamp=utcnow() - timedelta(minutes=31)))
    assert answer_of(ask(gz, "Five")).session not in (first.session, fresh.session)
    sessions = gz.dialogs.list_sessions(gz.local_owner())
    # Newest first; sessions last active at the same moment in the order their turns were written.
    assert [(session.title, session.turns) for session in sessions] == [("Five", 2), ("One", 6), ("Three", 2)]


def test_an_idle_gap_of_zero_starts_a_session_per_question(store_url: str, ollama: ModelServer) -> None:
    gz = make_gazette(store_url, ollama, training={"session_idle_minutes": 0})
    assert answer_of(ask(gz, "One")).session != answer_of(ask(gz, "Two")).session
    gz.close()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"session": "0123456789abcdef"},
            NotFoundError,
            r"no dialog session '0123456789abcdef': `gazette dialogs list`",
        ),
        ({"session": " "}, InvalidInputError, "the session id is empty"),
        ({"session": "abc", "new": True}, InvalidInputError, "--session and --new exclude each other"),
        ({"with_history": -1}, InvalidInputError, "with_history must be 0 or more"),
    ],
)
def test_session_mistakes_are_refused_before_the_model_is_called(
    gz: Gazette, ollama: ModelServer, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        gz.dialogs.ask(gz.local_owner(), "Hello?", model="llama", **options)
    assert ollama.chats() == []


def test_with_history_sends_earlier_turns_of_the_session_ahead_of_the_question(
    gz: Gazette, ollama: ModelServer
) -> None:
    first = answer_of(ask(gz, "Explain git rebase"))
    answer_of(ask(gz, "Unrelated", new=True))
    events = ask(gz, "And merge?", session=first.session, with_history=10, system="Be brief.")
    started = events[0]
    assert isinstance(started, AskStarted)
    assert started.history_turns == 2
    system, question = ollama.chats()[-1].body["messages"]
    assert question == {"role": "user", "content": "And merge?"}
    assert system["role"] == "system"
    assert system["content"].startswith("Be brief.\n\nEarlier dialog, oldest first (2 turns):")
    assert "user (" in system["content"]
    assert "): Explain git rebase" in system["content"]
    assert f"): {ANSWER}" in system["content"]
    assert "Unrelated" not in system["content"]
    turns = gz.dialogs.get_session(gz.local_owner(), first.session).turns
    assert turns[-2].content == "And merge?"  # the block is sent, not recorded
    assert turns[-2].context_window == (len(system["content"]) + 3) // 4


def test_with_history_in_a_new_session_draws_on_every_session(gz: Gazette, ollama: ModelServer) -> None:
    answer_of(ask(gz, "Explain git rebase"))
    answer_of(ask(gz, "What is a reflog?", new=True))
    answer_of(ask(gz, "Summarise what we discussed", new=True, with_history=3))
    system = ollama.chats()[-1].body["messages"][0]["content"]
    assert "Earlier dialog, oldest first (3 turns; " not in system  # only 3 turns considered, none left out
    assert system.startswith("Earlier dialog, oldest first (3 turns):")
    assert "Explain git rebase" not in system  # the 4th newest turn
    assert "What is a reflog?" in system


# --------------------------------------------------------------------------- interruptions


def test_an_answer_that_breaks_off_is_recorded_as_far_as_it_came(gz: Gazette, ollama: ModelServer) -> None:
    ollama.fail = "cut"
    received: list[str] = []

    def listen() -> None:
        for event in gz.dialogs.ask(gz.local_owner(), "Why is the sky blue?", model="llama"):
            if isinstance(event, TextDelta):
                received.append(event.text)

    with pytest.raises(ProviderError, match="the answer broke off"):
        listen()
    [session] = gz.dialogs.list_sessions(gz.local_owner())
    question, reply = gz.dialogs.get_session(gz.local_owner(), session.id).turns
    assert (question.content, question.interrupted) == ("Why is the sky blue?", False)
    assert (reply.content, reply.interrupted) == ("".join(received), True)
    assert reply.content == "The sky"
    assert reply.latency_ms is not None


def test_an_answer_the_caller_stops_is_recorded_as_interrupted(gz: Gazette) -> None:
    events = gz.dialogs.ask(gz.local_owner(), "Why is the sky blue?", model="llama")
    received = []
    for event in events:
        if isinstance(event, TextDelta):
            received.append(event.text)
            if len(received) == 3:
                break
    events.close()  # what Ctrl-C in the CLI, or a client hanging up, amounts to
    [session] = gz.dialogs.list_sessions(gz.local_owner())
    reply = gz.dialogs.get_session(gz.local_owner(), session.id).turns[-1]
    assert (reply.role, reply.content, reply.interrupted) == ("assistant", "The sky is", True)


def test_a_call_that_fails_before_any_text_records_nothing(gz: Gazette, ollama: ModelServer) -> None:
    ollama.fail = "server_error"
    with pytest.raises(ProviderError):
        ask(gz, "Why is the sky blue?")
    assert stored_rows(gz) == []


# --------------------------------------------------------------------------- reading and deleting


def test_list_show_and_delete_sessions_and_deleted_ones_stay_hidden_but_kept(gz: Gazette) -> None:
    owner = gz.local_owner()
    kept = answer_of(ask(gz, "Keep me"))
    doomed = answer_of(ask(gz, "Delete me", new=True))
    listed = gz.dialogs.list_sessions(owner)
    assert [session.id for session in listed] == [doomed.session, kept.session]
    assert (listed[0].title, listed[0].turns, listed[0].model) == ("Delete me", 2, "ollama:llama3.2")
    assert gz.dialogs.list_sessions(owner, limit=1) == listed[:1]
    deleted = gz.dialogs.delete_session(owner, doomed.session[:10])
    assert (deleted.id, deleted.turns) == (doomed.session, 2)
    assert [session.id for session in gz.dialogs.list_sessions(owner)] == [kept.session]
    with pytest.raises(NotFoundError, match="no dialog session"):
        gz.dialogs.get_session(owner, doomed.session)
    with pytest.raises(NotFoundError):
        gz.dialogs.delete_session(owner, doomed.session)
    with pytest.raises(NotFoundError):
        gz.dialogs.ask(owner, "Back to it", model="llama", session=doomed.session)
    assert "Delete me" not in gz.dialogs.context_block(owner).text
    assert (gz.dialogs.capture_state(owner).sessions, gz.dialogs.capture_state(owner).turns) == (1, 2)
    assert [row.deleted_at is not None for row in stored_rows(gz)] == [False, False, True, True]
    # A new question does not fall back into the deleted session, though it was the latest.
    assert answer_of(ask(gz, "Next")).session == kept.session
    assert any(entry.event == "dialogs.deleted" for entry in gz.audit.list_entries(owner))


def test_dialogs_are_personal_even_to_an_admin(gz: Gazette) -> None:
    mine = answer_of(ask(gz, "Mine"))
    ada = person("ada")
    theirs = answer_of(ask(gz, "Ada's", principal=ada))
    assert theirs.session != mine.session  # the owner's recent session is not Ada's to continue
    assert [session.id for session in gz.dialogs.list_sessions(ada)] == [theirs.session]
    assert [session.id for session in gz.dialogs.list_sessions(gz.local_owner())] == [mine.session]
    with pytest.raises(NotFoundError):
        gz.dialogs.get_session(ada, mine.session)
    with pytest.raises(NotFoundError):
        gz.dialogs.delete_session(gz.local_owner(), theirs.session)
    assert "Mine" not in gz.dialogs.context_block(ada).text


@pytest.mark.parametrize(
    ("scopes", "call", "missing"),
    [
        (("models:use",), lambda gz, p: gz.dialogs.list_sessions(p), "dialogs:read"),
        (("models:use",), lambda gz, p: gz.dialogs.context_block(p), "dialogs:read"),
        (("models:use",), lambda gz, p: gz.dialogs.ask(p, "Hi", model="llama", with_history=5), "dialogs:read"),
        (("dialogs:read",), lambda gz, p: gz.dialogs.delete_session(p, "abc"), "dialogs:write"),
        (("dialogs:read",), lambda gz, p: gz.dialogs.set_capture(p, enabled=False), "dialogs:write"),
        (("dialogs:read",), lambda gz, p: gz.dialogs.ask(p, "Hi", model="llama"), "models:use"),
    ],
)
def test_each_verb_needs_its_scope(gz: Gazette, scopes: tuple[str, ...], call: Any, missing: str) -> None:
    with pytest.raises(PermissionDeniedError, match=f"'{missing}' scope"):
        call(gz, person("ada", *scopes))


def test_record_turn_appends_to_a_session_and_respects_capture(gz: Gazette) -> None:
    owner = gz.local_owner()
    turn = gz.dialogs.record_turn(owner, role="user", content="Noted by another surface", model="ollama:llama3.2")
    assert turn is not None
    follow = gz.dialogs.record_turn(owner, role="assistant", content="Yes", session=turn.session, latency_ms=12)
    assert follow is not None
    assert (follow.session, follow.turn_number, follow.latency_ms) == (turn.session, 2, 12)
    with pytest.raises(InvalidInputError, match="unknown role"):
        gz.dialogs.record_turn(owner, role="tool", content="x")  # type: ignore[arg-type]
    gz.dialogs.set_capture(owner, enabled=False)
    assert gz.dialogs.record_turn(owner, role="user", content="Not kept") is None
    assert len(stored_rows(gz)) == 2


def test_inject_fits_the_latest_turns_to_the_budget(gz: Gazette) -> None:
    owner = gz.local_owner()
    for question in ("First question", "Second question", "Third question"):
        answer_of(ask(gz, question))
    block = gz.dialogs.context_block(owner, last=4, budget=50)
    assert (block.considered, block.budget) == (4, 50)
    assert block.tokens <= 50
    assert block.text.endswith(f"): {ANSWER}")
    assert "First question" not in block.text
    session = gz.dialogs.list_sessions(owner)[0].id
    assert gz.dialogs.context_block(owner, session=session[:6], last=2).included == 2
    with pytest.raises(InvalidInputError, match="at least 50 tokens"):
        gz.dialogs.context_block(owner, budget=10)
    with pytest.raises(InvalidInputError, match="--last must be 1 or more"):
        gz.dialogs.context_block(owner, last=0)


# --------------------------------------------------------------------------- distilling older turns


def long_session(gz: Gazette, pairs: int, words: int = 60, session: str | None = None) -> str:
    """A session of `pairs` questions and answers of `words` words each, recorded directly."""
    owner = gz.local_owner()
    for i in range(pairs):
        question = " ".join(f"q{i}w{j}" for j in range(words))
        turn = gz.dialogs.record_turn(owner, role="user", content=question, session=session)
        assert turn is not None
        session = turn.session
        gz.dialogs.record_turn(
            owner, role="assistant", content=" ".join(f"a{i}w{j}" for j in range(words)), session=session
        )
    assert session is not None
    return session


def distilling(store_url: str, ollama: ModelServer) -> Gazette:
    return make_gazette(
        store_url,
        ollama,
        models={"routes": {**ROUTES, "cheap": "ollama:qwen2.5:7b"}},
        training={"distill_model": "cheap"},
    )


def test_a_session_that_outgrows_the_budget_is_distilled_and_the_summary_leads_the_block(
    store_url: str, ollama: ModelServer
) -> None:
    gz = distilling(store_url, ollama)
    owner = gz.local_owner()
    session = long_session(gz, 6)  # 12 turns of ~100 tokens each
    block = gz.dialogs.context_block(owner, session=session, budget=400)
    [call] = ollama.chats()
    assert call.body["model"] == "qwen2.5:7b"
    sent = call.body["messages"][-1]["content"]
    assert "q0w0" in sent  # the oldest turns went to the distill model
    assert "a5w0" not in sent  # the newest stayed out: they are kept whole
    assert block.summary_through is not None
    assert block.summary_model == "ollama:qwen2.5:7b"
    assert block.text.startswith(f"Summary of turns 1–{block.summary_through} (distilled by ollama:qwen2.5:7b, ")
    assert ANSWER in block.text
    assert block.text.endswith(" ".join(f"a5w{j}" for j in range(60)))  # the newest turn whole
    assert (block.trimmed, block.left_out, block.distill_error) == (0, 0, None)
    assert block.tokens <= 400
    # The summary is stored: the next block uses it without calling the model again.
    again = gz.dialogs.context_block(owner, session=session, budget=400)
    assert again.text == block.text
    assert len(ollama.chats()) == 1
    # A block of only the newest turns does not reach back into the summary.
    assert gz.dialogs.context_block(owner, session=session, budget=400, last=2).summary_through is None
    # The session grows past the budget again: the summary so far is folded into a new one.
    long_session(gz, 4, session=session)
    grown = gz.dialogs.context_block(owner, session=session, budget=400)
    assert len(ollama.chats()) == 2
    resent = ollama.chats()[-1].body["messages"][-1]["content"]
    assert resent.startswith(f"Earlier summary (of turns 1–{block.summary_through}):\n{ANSWER}")
    assert grown.summary_through is not None
    assert grown.summary_through > block.summary_through
    gz.close()


def test_without_a_distill_model_older_turns_are_trimmed_and_nothing_is_sent(gz: Gazette, ollama: ModelServer) -> None:
    session = long_session(gz, 6)
    block = gz.dialogs.context_block(gz.local_owner(), session=session, budget=400)
    assert block.summary_through is None
    assert block.trimmed + block.left_out > 0
    assert ollama.chats() == []


def test_a_failed_distillation_leaves_the_block_trimmed_and_says_why(store_url: str, ollama: ModelServer) -> None:
    gz = distilling(store_url, ollama)
    session = long_session(gz, 6)
    ollama.fail = "server_error"
    block = gz.dialogs.context_block(gz.local_owner(), session=session, budget=400)
    assert block.summary_through is None
    assert block.trimmed + block.left_out > 0
    assert block.distill_error is not None
    assert "llama runner process has terminated" in block.distill_error
    gz.close()


def test_ask_with_history_continuing_a_session_sends_the_summary_ahead(store_url: str, ollama: ModelServer) -> None:
    gz = distilling(store_url, ollama)
    session = long_session(gz, 30, words=20)  # ~2,400 tokens: more than the default budget of 2,000
    answer_of(ask(gz, "and now?", session=session, with_history=100))
    distilled, asked = ollama.chats()
    assert distilled.body["model"] == "qwen2.5:7b"
    system = asked.body["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("Summary of turns 1–")
    assert asked.body["model"] == "llama3.2"
    gz.close()


def test_distill_on_demand_and_its_refusals(gz: Gazette, ollama: ModelServer) -> None:
    owner = gz.local_owner()
    short = long_session(gz, 1, words=5)
    with pytest.raises(InvalidInputError, match=r"no distill model: give --model, or set training\.distill_model"):
        gz.dialogs.distill(owner, short)
    nothing = gz.dialogs.distill(owner, short, model="ollama:qwen2.5:7b")
    assert (nothing.summary, nothing.created, nothing.folded, nothing.kept) == (None, False, 0, 2)
    assert ollama.chats() == []
    session = long_session(gz, 6)
    done = gz.dialogs.distill(owner, session, model="ollama:qwen2.5:7b", budget=400)
    assert done.created
    assert done.summary is not None
    assert (done.summary.content, done.summary.model) == (ANSWER, "ollama:qwen2.5:7b")
    assert done.folded + done.kept == 12
    assert done.summary.through_turn == done.folded
    assert done.summary.source_tokens > done.summary.tokens
    assert not gz.dialogs.distill(owner, session, model="ollama:qwen2.5:7b", budget=400).created
    with pytest.raises(InvalidInputError, match="at least 50 tokens"):
        gz.dialogs.distill(owner, session, model="ollama:qwen2.5:7b", budget=10)
    with pytest.raises(NotFoundError, match="no dialog session"):
        gz.dialogs.distill(owner, "nosuchsession", model="ollama:qwen2.5:7b")
    with pytest.raises(PermissionDeniedError):
        gz.dialogs.distill(person("ada", "models:use", "dialogs:read"), session, model="ollama:qwen2.5:7b")
    # Deleting the session removes its summaries.
    gz.dialogs.delete_session(owner, session)
    with gz.store.begin() as conn:
        assert conn.execute(select(dialog_summaries)).all() == []
