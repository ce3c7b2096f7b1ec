"""The config file's shape (`hub.yaml`), as pydantic models.

Connector-specific parts (a system's settings, a trigger's source options, a delivery's sink
options) are declared by each connector and checked by `loader.py`; here they are kept as extra
keys. `interlace schema` merges both into one JSON Schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from interlace.connectors.sql.identifiers import Name, TableName
from interlace.options import parse_duration
from interlace.types import JSON, JSONObject


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A model whose extra keys belong to a connector and are checked against its models."""

    model_config = ConfigDict(extra="allow")

    @property
    def extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Listener(Strict):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)


class Smtp(Strict):
    """The mail server that owners' digests go out through."""

    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    from_: str = Field(alias="from", description="The sender address of the digests.")
    security: Literal["none", "starttls", "tls"] = Field(
        "none", description="none: plain SMTP; starttls: upgrade the connection; tls: TLS from the start (port 465)."
    )
    username: str | None = None
    password: str | None = Field(None, description='A secret reference, e.g. "${env:SMTP_PASSWORD}".')
    timeout: str = "30s"

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("timeout")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class Notify(Strict):
    """How owners are told of parked exceptions: one digest per owner per window, by email (with
    `smtp`) to owners that have an `email`, and by POST to owners that have a `webhook`."""

    window: str = Field(
        "5m",
        description="The first exception parked for an owner opens a window; when it has passed, everything"
        " parked for that owner meanwhile goes out as one digest.",
    )
    smtp: Smtp | None = Field(None, description="The mail server (without it, owners' emails are not used).")
    samples: int = Field(20, ge=0, le=1000, description="Exceptions a digest lists one by one (the rest are counted).")
    link: str | None = Field(None, description="An address a digest points to (the console's exceptions page).")

    @field_validator("window")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class Tracing(Strict):
    """OpenTelemetry spans of every message (ingress, steps, deliveries), exported by OTLP/HTTP."""

    endpoint: str = Field(description="The collector's OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces.")
    service_name: str | None = Field(None, description="The service name of the spans (default: the hub's name).")
    headers: dict[str, str] = Field(
        default_factory=dict, description='Headers of the export requests, e.g. {authorization: "${env:OTLP_AUTH}"}.'
    )
    sample: float = Field(1.0, ge=0.0, le=1.0, description="The share of new traces recorded (0.0 to 1.0).")


class Tls(Strict):
    """HTTPS on the hub's main port (what agents connect to): its certificate and key, PEM files
    (relative paths are read from the config file's folder)."""

    cert: str = Field(description="The hub's certificate chain (PEM).")
    key: str = Field(description="Its private key (PEM).")


class Agent(Strict):
    """An `interlace agent` inside a private network: it runs the systems assigned to it (a
    system's `agent:`), connecting out to the hub only. See docs/hybrid.md."""

    url: str = Field(description="The hub's address as the agent reaches it, e.g. https://hub.example:8443.")
    token: str | None = Field(
        None,
        description='The secret bound to this agent (at least 16 characters), e.g. "${env:PLANT1_TOKEN}": the'
        " agent sends it, the hub admits this agent only with it."
    )
    ca: str | None = Field(
        None, description="The CA (PEM) the agent checks the hub's certificate against (default: the system's)."
    )
    store: str | None = Field(
        None,
        description="The agent's buffer, an SQLite store (default: sqlite:///.interlace/agent-NAME.db): what its"
        " sources read waits there while the link is down.",
    )
    buffer: int = Field(1_000_000, ge=1, description="Messages a flow may hold in the buffer before its sources pause.")
    confirm_within: str = Field(
        "60s",
        description="How long the hub waits for the agent to confirm a delivery handed to it; past that the"
        " delivery fails and is retried by its flow's `on_error`.",
    )
    reconnect: str = Field(
        "200ms..5s",
        description="The agent's wait before it tries the hub again after a failure: first..longest, doubled"
        " each failure in a row, with jitter.",
    )
    description: str | None = None

    @field_validator("confirm_within")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("reconnect")
    @classmethod
    def _range(cls, v: str) -> str:
        backoff_bounds(v)
        return v


class HubSettings(Strict):
    name: str = "interlace"
    store: str = Field("sqlite:///.interlace/hub.db", description="Backend URL of the message store.")
    bus: str | None = Field(
        None,
        description="A RabbitMQ URL (amqp://user:password@host:5672/vhost) to carry the work items of a"
        " PostgreSQL store on a quorum queue; the store stays the record of every message (docs/deploy.md).",
    )
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(
        256,
        ge=1,
        le=4096,
        description="Work items this process holds at once (leased, running or settling); items of one"
        " flow are run and settled as a batch, deliveries to a system go `concurrency` at a time.",
    )
    max_pending: int = Field(
        10_000,
        ge=1,
        description="Undelivered work items a flow may hold before its sources are pushed back: a webhook"
        " answers 429 with Retry-After and stores nothing, pollers and folder watchers pause. A flow's own"
        " `max_pending` overrides it.",
    )
    lease: str = Field("30s", description="How long a worker holds an item before another may take it.")
    poll: str = Field("200ms", description="How often idle workers look for due work.")
    leader_lease: str = Field(
        "15s",
        description="How long the process that runs the schedules and pollers (the leader among the"
        " `interlace serve` processes sharing a store) holds that role without renewing it; another takes"
        " over once it ran out.",
    )
    trace: bool = Field(True, description="Record every step's input and output.")
    durable: Literal["full", "normal"] = Field(
        "full",
        description="full: fsync every group commit; normal: survive a process crash, not a power cut.",
    )
    webhooks: Listener | None = Field(
        None,
        description="Serve webhooks (and /health) on their own host and port; the main port then serves"
        " only the token-protected API, so partners need not reach it. See docs/security.md.",
    )
    open_metrics: bool = Field(
        False, description="Serve /metrics without a token (a Prometheus scraper on a trusted network)."
    )
    notify: Notify = Field(default_factory=Notify, description="Digests of parked exceptions to their owners.")
    tracing: Tracing | None = Field(None, description="Export OpenTelemetry spans (none are made without it).")
    tls: Tls | None = Field(None, description="Serve the main port over HTTPS (agents connect to it).")

    @field_validator("lease", "poll", "leader_lease")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class Owner(Strict):
    email: str | None = None
    webhook: str | None = None
    description: str | None = None
    members: list[str] = Field(
        default_factory=list,
        description="The people of this group, by the names of their API tokens: who may decide its tasks"
        " (`task` steps) and whose console shows them under My tasks.",
    )


class System(Open):
    connector: str
    concurrency: int = Field(8, ge=1, le=1024, description="Deliveries in flight to this system at once.")
    description: str | None = None
    agent: str | None = Field(
        None,
        description="The agent (of `agents:`) that runs this system inside its network: its sources and"
        " deliveries run there, and reach the hub over the agent's outbound link.",
    )


class FieldRule(Strict):
    owner: str | None = None


class SubscriberTrigger(Open):
    """How a subscribed system's changes reach the hub: its connector's source options (a table
    to poll, ...), or `system` + `event` when another system receives for it (a webhook)."""

    system: str | None = Field(None, description="The system that receives the changes (default: the subscriber).")
    event: str | None = None


class SubscriberRead(Strict):
    """How `entity diff` and `backfill` read a system's current records."""

    table: str | None = Field(None, description="SQL: the table (default: the trigger's or deliver's table).")
    key: str | list[str] | None = Field(
        None, description="SQL: its key column(s) (default: the trigger's or deliver's key)."
    )
    path: str | None = Field(None, description="HTTP: a GET path answering a JSON list of records.")


class Subscriber(Strict):
    """A system that keeps its own copy of an entity, with the mappings between its shape and
    the entity's. Either direction may be left out (a system that only sends, or only receives)."""

    trigger: SubscriberTrigger | None = Field(None, description="Where the system's changes come from.")
    deliver: JSONObject | None = Field(None, description="The connector's sink options for writing to the system.")
    delete: JSONObject | None = Field(
        None, description="Sink options for deletes (default: `deliver`, with the message's event `delete`)."
    )
    delete_events: list[str] = Field(default_factory=lambda: ["delete"], description="Events that mean a delete.")
    read: SubscriberRead | None = None
    inbound: str | None = Field(None, description="JSONata: the system's record -> the entity's (default: as is).")
    outbound: str | None = Field(None, description="JSONata: the entity's record -> the system's (default: as is).")
    on_error: OnError | None = Field(None, description="Retries and owner of deliveries to this system.")


class Entity(Strict):
    key: str | list[str]
    schema_: JSONObject | str = Field(default_factory=dict, alias="schema")
    source_of_truth: str | None = None
    owner: str | None = Field(None, description="Who is told about this entity's exceptions.")
    fields: dict[str, FieldRule] = Field(default_factory=dict)
    local: dict[str, list[str]] = Field(default_factory=dict)
    mode: Literal["interact", "integrate"] = "interact"
    subscribers: dict[str, Subscriber] = Field(
        default_factory=dict, description="Systems that keep a copy of this entity, by system name."
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @property
    def keys(self) -> list[str]:
        return [self.key] if isinstance(self.key, str) else list(self.key)


class Trigger(Open):
    """A system's event (`system` [+ `event`] + the connector's source options) or a `schedule`."""

    system: str | None = None
    event: str | None = None
    schedule: str | None = Field(None, description="Cron expression, e.g. '*/5 * * * *'.")
    body: JSON = Field(None, description="Body of each scheduled message.")

    @model_validator(mode="after")
    def _one_kind(self) -> Trigger:
        if (self.system is None) == (self.schedule is None):
            raise ValueError("a trigger names exactly one of `system` or `schedule`")
        if self.schedule is not None:
            from croniter import croniter

            if not croniter.is_valid(self.schedule):
                raise ValueError(f"invalid cron expression {self.schedule!r}")
        return self


class RouteRule(Strict):
    when: str | None = None
    to: str | None = Field(None, description="The flow that takes the message.")
    default: str | None = Field(None, description="The flow that takes messages no rule matched.")

    @model_validator(mode="after")
    def _shape(self) -> RouteRule:
        if self.default is None and (self.when is None or self.to is None):
            raise ValueError("a route rule is either {when, to} or {default}")
        if self.default is not None and (self.when is not None or self.to is not None):
            raise ValueError("a default rule has only `default`")
        return self


class ValidateStep(Strict):
    validate_: str = Field(alias="validate", description="The entity whose JSON Schema the body must match.")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class MapStep(Strict):
    map: str = Field(description="JSONata expression; its value becomes the body.")


class FilterStep(Strict):
    filter: str = Field(description="JSONata expression; messages where it is falsy are dropped.")


class RouteStep(Strict):
    route: list[RouteRule]


class SplitStep(Strict):
    split: str = Field(description="JSONata expression yielding an array; one message per element.")


class PythonStep(Strict):
    python: str = Field(description="module:function called with the body; returns the new body.")


class Enrich(Strict):
    system: str = Field(description="A database system (sqlite, postgres, mysql).")
    table: TableName
    where: dict[Name, str] = Field(description="Column -> JSONata expression over the body giving its value.")
    into: str = Field(description="The body field that receives the row (null when none matches).")
    required: bool = Field(False, description="No matching row parks the message for its owner.")


class Task(Strict):
    """A person's decision the message waits for (docs/approvals.md): a member of `owner` approves
    it (possibly after editing the `editable` fields), or rejects it (it becomes an exception of
    the flow's owner). Past `deadline` it goes to the next owner of `escalate`, and past the last
    of them it takes `default` (none: it stays, listed as overdue)."""

    name: str | None = Field(None, description="What the task is called in the console (default: the entity's).")
    entity: str | None = Field(None, description="The entity whose schema the decision form is made from.")
    when: str | None = Field(
        None, description="JSONata condition: only messages where it holds wait (the limit, e.g. total > 10000)."
    )
    owner: str | None = Field(None, description="The owner group whose members decide.")
    deadline: str | None = Field(None, description="How long each owner has, e.g. 4h (none: no deadline).")
    escalate: list[str] = Field(
        default_factory=list, description="The owners a task goes to, in turn, when its deadline passes."
    )
    default: Literal["approve", "reject"] | None = Field(
        None, description="The decision taken when the last owner's deadline passed too."
    )
    editable: list[str] = Field(
        default_factory=list, description="The body fields an approver may change (dotted paths); none: no edits."
    )
    reject_to: str | None = Field(
        None, description="The owner of the exception a rejection makes (default: the flow's on_error owner)."
    )

    @field_validator("deadline")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @property
    def chain(self) -> list[str]:
        """The owners in the order the task reaches them."""
        return [o for o in [self.owner, *self.escalate] if o]


class TaskStep(Strict):
    task: Task = Field(description="Wait for a person of an owner group to approve, edit or reject the message.")


class EnrichStep(Strict):
    enrich: Enrich = Field(description="Look a row up in a database system (cached 60 s) and add it to the body.")


STEP_KINDS = ("validate", "map", "filter", "route", "split", "enrich", "task", "python")


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for kind in STEP_KINDS:
            if kind in value:
                return kind
        return None
    kind = value.__class__.__name__.removesuffix("Step").lower()
    return kind if kind in STEP_KINDS else None


Step = Annotated[
    Annotated[ValidateStep, Tag("validate")]
    | Annotated[MapStep, Tag("map")]
    | Annotated[FilterStep, Tag("filter")]
    | Annotated[RouteStep, Tag("route")]
    | Annotated[SplitStep, Tag("split")]
    | Annotated[EnrichStep, Tag("enrich")]
    | Annotated[TaskStep, Tag("task")]
    | Annotated[PythonStep, Tag("python")],
    Discriminator(
        _step_kind,
        custom_error_type="unknown_step",
        custom_error_message="a step is one of: " + ", ".join(STEP_KINDS),
    ),
]


class Delivery(Open):
    """Where a flow's result goes: a system plus the connector's sink options."""

    system: str


def backoff_bounds(text: str) -> tuple[float, float]:
    """`first..longest` (or one duration for both) as seconds; ValueError when not durations."""
    first, _, last = text.partition("..")
    low = parse_duration(first)
    return low, parse_duration(last) if last else low


class Retry(Strict):
    attempts: int = Field(5, ge=1, le=1000, description="Tries in all, the first included.")
    backoff: str = Field("1s..5m", description="First wait..longest wait; doubles each time, with jitter.")

    @field_validator("backoff")
    @classmethod
    def _range(cls, v: str) -> str:
        backoff_bounds(v)
        return v

    def bounds(self) -> tuple[float, float]:
        return backoff_bounds(self.backoff)


class OnError(Strict):
    retry: Retry = Field(default_factory=Retry)
    owner: str | None = None


class Gain(Strict):
    minutes_saved_per_message: float | None = None
    cost_saved_per_message: float | None = None
    description: str | None = None


class FlowTest(Strict):
    """One example run of a flow (`interlace test`): the systems are in-memory fakes."""

    name: str | None = None
    given: JSON
    event: str | None = Field(None, description="The event of the message (default: the trigger's).")
    expect: JSON = Field(
        None,
        description="The body the deliveries receive (a list when a split yields several; null: none).",
    )
    expect_exception: str | None = Field(
        None, description="Text in the error (or its class name) the flow must fail with."
    )
    expect_steps: dict[str, JSON] = Field(
        default_factory=dict,
        description="The body after a step, by its position (0, 1, ...) or its kind when unique (map).",
    )
    expect_deliveries: dict[str, list[JSON]] = Field(
        default_factory=dict, description="What each system would receive, by system name."
    )
    expect_routed: str | None = Field(None, description="The flow a route step hands the message to.")
    lookups: dict[str, list[JSONObject]] = Field(
        default_factory=dict, description="Rows the `enrich` steps find, by table (the databases are fakes)."
    )


class Flow(Strict):
    description: str | None = None
    trigger: Trigger
    steps: list[Step] = Field(default_factory=list)
    deliver: list[Delivery] = Field(default_factory=list)
    on_error: OnError = Field(default_factory=OnError)
    max_pending: int | None = Field(
        None, ge=1, description="Undelivered work items this flow may hold (default: hub.max_pending)."
    )
    gain: Gain | None = None
    tests: list[FlowTest] = Field(default_factory=list)

    @field_validator("deliver", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v


class HubConfig(Strict):
    hub: HubSettings = Field(default_factory=HubSettings)
    owners: dict[str, Owner] = Field(default_factory=dict)
    systems: dict[str, System] = Field(default_factory=dict)
    agents: dict[str, Agent] = Field(default_factory=dict)
    entities: dict[str, Entity] = Field(default_factory=dict)
    flows: dict[str, Flow] = Field(default_factory=dict)

    @field_validator("hub", mode="before")
    @classmethod
    def _name_only(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v
