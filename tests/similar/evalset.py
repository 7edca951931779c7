# ruff: noqa: E501  (a data file: its sentences stay whole, one per line)
"""A labelled evaluation set for similar-incident suggestions, generated deterministically.

25 services, 14 failure modes. Every incident is one (service, failure mode) pair, written the
way people and alert rules actually write them: a person declaring from chat names a symptom
in their own words ("checkout throwing 500s", "customers can't pay"), often without the cause;
an alert-declared incident has the rule's title, the alert's description and labels (whose
names differ by source: ``service``, ``app``, ``job``). Resolved incidents carry a root cause
and a fix in varied wording.

A query is a newer incident; its relevant past incidents are the resolved ones of the same
service *and* the same failure mode. Past incidents of the same service but another failure,
or the same failure elsewhere, are the distractors the scorer must rank below them.

    from tests.similar.evalset import build
    s = build()          # s.past, s.queries (each with its relevant past incident ids)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.similar.model import Profile

SEED = 13
T_START = datetime(2025, 11, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    said: tuple[str, ...]  # how people refer to it in chat
    namespace: str
    team: str
    kinds: frozenset[str]  # what it is: api, worker, db, queue, edge, batch


@dataclass(frozen=True, slots=True)
class Mode:
    name: str
    fits: frozenset[str]  # service kinds it can happen to
    alertnames: tuple[str, ...]
    alert_titles: tuple[str, ...]  # rule titles; {svc}
    person_titles: tuple[str, ...]  # what someone types; {said}
    summaries: tuple[str, ...]  # {svc} / {said}
    root_causes: tuple[str, ...]
    fixes: tuple[str, ...]
    extra_labels: tuple[tuple[str, tuple[str, ...]], ...] = ()


SERVICES: tuple[Service, ...] = (
    Service(
        "checkout-api",
        ("checkout", "the checkout service", "checkout-api"),
        "shop",
        "payments",
        frozenset({"api"}),
    ),
    Service(
        "payments-api",
        ("payments", "payment processing", "the payments API"),
        "payments",
        "payments",
        frozenset({"api"}),
    ),
    Service(
        "auth-service", ("login", "auth", "SSO sign-in"), "identity", "identity", frozenset({"api"})
    ),
    Service(
        "search-api",
        ("search", "product search", "the search API"),
        "discovery",
        "discovery",
        frozenset({"api"}),
    ),
    Service(
        "cart-service", ("the cart", "add to cart", "cart"), "shop", "shop", frozenset({"api"})
    ),
    Service(
        "orders-db",
        ("the orders database", "orders DB", "orders postgres"),
        "data",
        "data-platform",
        frozenset({"db"}),
    ),
    Service(
        "orders-api",
        ("orders", "order history", "the orders API"),
        "shop",
        "shop",
        frozenset({"api"}),
    ),
    Service(
        "notification-worker",
        ("notifications", "push notifications", "the notifier"),
        "messaging",
        "growth",
        frozenset({"worker"}),
    ),
    Service(
        "email-sender",
        ("email", "transactional email", "the mailer"),
        "messaging",
        "growth",
        frozenset({"worker"}),
    ),
    Service(
        "cdn-edge",
        ("the CDN", "static assets", "images on the site"),
        "edge",
        "platform",
        frozenset({"edge"}),
    ),
    Service(
        "api-gateway",
        ("the gateway", "public API", "api-gateway"),
        "edge",
        "platform",
        frozenset({"edge", "api"}),
    ),
    Service(
        "user-profile",
        ("profiles", "account pages", "user profile"),
        "identity",
        "identity",
        frozenset({"api"}),
    ),
    Service(
        "recommendations",
        ("recommendations", "recs", "you-may-also-like"),
        "discovery",
        "discovery",
        frozenset({"api", "batch"}),
    ),
    Service(
        "billing-batch",
        ("billing run", "invoicing", "nightly billing"),
        "payments",
        "payments",
        frozenset({"batch"}),
    ),
    Service(
        "kafka-events",
        ("Kafka", "the event bus", "kafka"),
        "data",
        "data-platform",
        frozenset({"queue"}),
    ),
    Service(
        "redis-sessions",
        ("redis", "session cache", "the session store"),
        "identity",
        "platform",
        frozenset({"db"}),
    ),
    Service(
        "elasticsearch-logs",
        ("elasticsearch", "log search", "ES cluster"),
        "observability",
        "platform",
        frozenset({"db"}),
    ),
    Service(
        "image-resizer",
        ("image resizing", "thumbnails", "the resizer"),
        "media",
        "media",
        frozenset({"worker"}),
    ),
    Service(
        "shipping-api",
        ("shipping quotes", "shipping", "delivery estimates"),
        "logistics",
        "logistics",
        frozenset({"api"}),
    ),
    Service(
        "pricing-service",
        ("pricing", "prices", "the price service"),
        "shop",
        "shop",
        frozenset({"api"}),
    ),
    Service(
        "fraud-detector",
        ("fraud checks", "fraud scoring", "risk engine"),
        "payments",
        "risk",
        frozenset({"api", "worker"}),
    ),
    Service(
        "reporting-etl",
        ("reporting", "the ETL", "dashboards data"),
        "data",
        "data-platform",
        frozenset({"batch"}),
    ),
    Service(
        "mobile-bff",
        ("the mobile app", "iOS and Android app", "mobile backend"),
        "mobile",
        "mobile",
        frozenset({"api"}),
    ),
    Service(
        "webhook-dispatcher",
        ("outgoing webhooks", "partner webhooks", "webhook delivery"),
        "integrations",
        "integrations",
        frozenset({"worker"}),
    ),
    Service(
        "inventory-db",
        ("inventory database", "stock levels DB", "inventory mysql"),
        "data",
        "data-platform",
        frozenset({"db"}),
    ),
)

ANY = frozenset({"api", "worker", "db", "queue", "edge", "batch"})

MODES: tuple[Mode, ...] = (
    Mode(
        "bad-deploy",
        frozenset({"api", "worker", "edge"}),
        ("HighErrorRate", "HTTP5xxRatioHigh", "ErrorBudgetBurn"),
        (
            "High 5xx error rate on {svc}",
            "{svc}: error budget burning fast",
            "{svc} error ratio above 5%",
        ),
        (
            "{said} throwing 500s since the deploy",
            "{said} broken after release",
            "Errors on {said} right after rollout",
            "{said} failing for everyone",
        ),
        (
            "Error rate jumped from 0.1% to 30% minutes after the 14:02 deploy of {svc}.",
            "New version of {svc} went out and requests started failing with 500.",
            "Spike of internal server errors on {said}; started with the latest release.",
        ),
        (
            "A release of {svc} shipped a null pointer bug in the request handler that only shows with production data.",
            "The new build contained an incompatible schema migration; the old pods could not read new rows.",
            "Deploy pipeline skipped the canary stage, so a regression in serialization reached all traffic.",
        ),
        (
            "Rolled back to the previous release.",
            "Reverted the deploy and redeployed the last good version.",
            "Rollback of the release; hotfix shipped next day.",
        ),
    ),
    Mode(
        "conn-pool",
        frozenset({"api", "worker"}),
        ("DBConnectionPoolExhausted", "HikariPoolTimeouts", "TooManyConnections"),
        (
            "{svc}: database connection pool exhausted",
            "Connection pool saturation on {svc}",
            "{svc} cannot get DB connections",
        ),
        (
            "{said} timing out on database calls",
            "{said} slow and erroring, DB related?",
            "{said} requests hang then fail",
        ),
        (
            "All {svc} workers waiting on connections; pool at 100/100 and requests queueing.",
            "Timeouts acquiring a connection from the pool in {svc} logs.",
            "{said} returns 503 while waiting for database connections.",
        ),
        (
            "A slow query held connections for seconds and the pool of {svc} ran dry.",
            "Connection leak: a code path never returned connections to the pool after an exception.",
            "Pool size too small after scaling out replicas; max_connections on the database was hit.",
        ),
        (
            "Raised the pool size and killed the long-running query.",
            "Restarted pods to release leaked connections; patched the leak.",
            "Added the missing index so queries finish fast and free connections.",
        ),
    ),
    Mode(
        "disk-full",
        frozenset({"db", "queue", "worker", "batch"}),
        ("DiskSpaceLow", "NodeFilesystemAlmostOutOfSpace", "VolumeFull"),
        (
            "Disk almost full on {svc}",
            "{svc}: filesystem 95% used",
            "Persistent volume of {svc} nearly out of space",
        ),
        (
            "{said} stopped writing, disk full?",
            "{said} out of space",
            "{said} read-only, no space left on device",
        ),
        (
            "Volume of {svc} at 98%, writes failing with ENOSPC.",
            "No space left on device errors from {svc}.",
            "{said} can no longer write; disk usage climbed all night.",
        ),
        (
            "Log rotation was misconfigured and debug logs filled the volume.",
            "WAL files piled up because an archive command kept failing.",
            "Retention job did not run after a cron change, old data filled the disk.",
        ),
        (
            "Freed space by deleting old logs and grew the volume.",
            "Expanded the persistent volume and fixed rotation.",
            "Purged expired data and re-enabled the retention job.",
        ),
        (
            ("mountpoint", ("/data", "/var/lib/data", "/var/log")),
            ("device", ("nvme0n1", "sdb", "xvdf")),
        ),
    ),
    Mode(
        "oom",
        frozenset({"api", "worker", "batch"}),
        ("KubePodOOMKilled", "ContainerMemoryNearLimit", "PodCrashLooping"),
        ("{svc} pods OOMKilled", "{svc}: container memory at limit", "{svc} crash looping"),
        ("{said} keeps restarting", "{said} pods dying every few minutes", "{said} flapping"),
        (
            "{svc} pods killed by the OOM killer repeatedly; restarts every 5 minutes.",
            "Memory of {svc} grows until the container hits its limit and is killed.",
            "{said} crash loops with exit code 137.",
        ),
        (
            "Memory leak in an in-process cache that had no size bound.",
            "A large customer export loaded everything into memory at once.",
            "The new JSON library kept references to parsed payloads; heap grew without bound.",
        ),
        (
            "Raised memory limit temporarily and deployed a bounded cache.",
            "Restarted pods and capped the export batch size.",
            "Reverted the library upgrade.",
        ),
    ),
    Mode(
        "cert-expired",
        frozenset({"api", "edge"}),
        ("TLSCertificateExpiring", "SSLCertExpired", "ProbeSSLFailed"),
        (
            "TLS certificate of {svc} expired",
            "{svc}: SSL handshake failures",
            "Certificate expiry on {svc}",
        ),
        (
            "{said} shows certificate error in browsers",
            "{said} SSL broken",
            "Clients can't connect to {said}: cert invalid",
        ),
        (
            "Handshake failures: certificate for {svc} expired at midnight UTC.",
            "Browsers report NET::ERR_CERT_DATE_INVALID on {said}.",
            "Partners cannot call {said}: x509 certificate has expired.",
        ),
        (
            "The certificate renewal job failed silently for weeks because the DNS challenge credentials were rotated.",
            "Certificate was manually issued two years ago and nobody tracked its expiry.",
            "cert-manager could not renew: rate limited by the ACME provider after a misconfiguration.",
        ),
        (
            "Issued a new certificate and reloaded the load balancer.",
            "Renewed the cert by hand and fixed the renewal job.",
            "Rotated the certificate and added an expiry alert.",
        ),
    ),
    Mode(
        "dns",
        frozenset({"api", "worker", "edge"}),
        ("DNSResolutionFailures", "CoreDNSErrorsHigh", "BlackboxProbeFailed"),
        (
            "DNS resolution failures in {svc}",
            "{svc}: cannot resolve upstream hosts",
            "CoreDNS errors affecting {svc}",
        ),
        (
            "{said} can't reach anything, name resolution?",
            "{said} failing with unknown host",
            "{said} down, DNS?",
        ),
        (
            "{svc} logs full of 'no such host' and getaddrinfo failures.",
            "Lookups of internal names time out from {svc} pods.",
            "{said} cannot resolve the database hostname.",
        ),
        (
            "CoreDNS pods were evicted during node maintenance and the remaining replica was overloaded.",
            "A change to the DNS zone deleted the CNAME the service depends on.",
            "ndots setting caused five lookups per request and overwhelmed the resolver.",
        ),
        (
            "Scaled CoreDNS up and added a pod disruption budget.",
            "Restored the deleted DNS record.",
            "Set ndots to 1 and enabled the DNS cache.",
        ),
    ),
    Mode(
        "upstream-timeout",
        frozenset({"api", "worker"}),
        ("UpstreamLatencyHigh", "DependencyTimeouts", "CircuitBreakerOpen"),
        (
            "{svc}: upstream dependency timing out",
            "Circuit breaker open in {svc}",
            "{svc} latency p99 over 5s",
        ),
        ("{said} very slow", "{said} slow for customers", "{said} degraded, pages take forever"),
        (
            "p99 latency of {svc} went from 200ms to 8s; calls to a third-party provider time out.",
            "{svc} circuit breaker to the provider is open; requests fall back or fail.",
            "Requests to {said} hang waiting on an upstream API.",
        ),
        (
            "The external payment provider had a partial outage in their EU region.",
            "A downstream service was scaled to zero by a bad autoscaler config, so every call timed out.",
            "Retries without backoff amplified a small upstream slowdown into a retry storm.",
        ),
        (
            "Failed over to the secondary provider.",
            "Restored the autoscaler minimum and drained the retry queue.",
            "Added jittered backoff and lowered the timeout; provider recovered.",
        ),
    ),
    Mode(
        "cpu-throttle",
        frozenset({"api", "worker", "db"}),
        ("CPUThrottlingHigh", "HighCPUUsage", "LoadAverageHigh"),
        ("CPU throttling on {svc}", "{svc}: CPU saturated", "High CPU on {svc} nodes"),
        ("{said} sluggish", "{said} is slow, CPU pegged", "Everything on {said} lagging"),
        (
            "{svc} containers throttled 80% of the time; latency doubled.",
            "CPU at 100% across {svc} hosts since the morning peak.",
            "{said} responses slow; CPU graphs flat at the limit.",
        ),
        (
            "A regex with catastrophic backtracking on certain inputs burned CPU.",
            "CPU limits set too low after the move to the new cluster.",
            "A crawler hammered an uncached endpoint that renders expensive pages.",
        ),
        (
            "Raised CPU limits and fixed the regex.",
            "Blocked the crawler and cached the endpoint.",
            "Scaled out and reverted the limits change.",
        ),
    ),
    Mode(
        "replication-lag",
        frozenset({"db"}),
        ("PostgresReplicationLag", "MySQLReplicaLagging", "ReplicaLagHigh"),
        (
            "Replication lag on {svc}",
            "{svc}: replica behind primary",
            "{svc} replica lagging minutes",
        ),
        ("{said} showing stale data", "{said} reads out of date", "Changes in {said} not visible"),
        (
            "Replica of {svc} is 20 minutes behind the primary; reads return stale rows.",
            "Replication delay on {svc} growing steadily.",
            "{said} replicas lag; users see old data after saving.",
        ),
        (
            "A bulk backfill wrote faster than the replica could apply.",
            "Long-running analytics query on the replica blocked WAL replay.",
            "Replica instance type was smaller than the primary and could not keep up.",
        ),
        (
            "Paused the backfill until the replica caught up.",
            "Cancelled the analytics query and set a statement timeout.",
            "Resized the replica to match the primary.",
        ),
    ),
    Mode(
        "consumer-lag",
        frozenset({"queue", "worker"}),
        ("KafkaConsumerLagHigh", "QueueBacklogGrowing", "SQSMessagesVisibleHigh"),
        ("Consumer lag growing on {svc}", "{svc}: queue backlog", "{svc} backlog over 1M messages"),
        ("{said} delayed by hours", "{said} not going out", "{said} stuck"),
        (
            "Lag on {svc} consumer group reached 2M messages and keeps growing.",
            "Messages pile up in the {svc} queue; consumers process slower than producers.",
            "{said} delayed; backlog building since 9am.",
        ),
        (
            "A poison message made consumers crash and retry the same offset.",
            "Consumer rebalance storm after a deploy kept partitions unassigned.",
            "Producer bug emitted ten times the normal volume of events.",
        ),
        (
            "Skipped the poison message to a dead-letter queue.",
            "Pinned static group membership to stop rebalances and scaled consumers.",
            "Fixed the producer and let consumers drain the backlog.",
        ),
        (("topic", ("orders.events", "notifications", "payments.v2", "audit")),),
    ),
    Mode(
        "rate-limited",
        frozenset({"api", "worker"}),
        ("ThirdPartyRateLimited", "HTTP429FromProvider", "QuotaExceeded"),
        (
            "{svc} rate limited by provider",
            "{svc}: 429 responses from vendor API",
            "Quota exceeded for {svc}",
        ),
        (
            "{said} partially failing",
            "Some {said} requests rejected",
            "{said} errors for a subset of users",
        ),
        (
            "Vendor API returns 429 Too Many Requests to {svc}.",
            "{svc} exceeded its daily quota at the provider.",
            "{said} failing intermittently; provider says we hit our rate limit.",
        ),
        (
            "A batch job shared the same API key and consumed the whole quota.",
            "The provider lowered our rate limit after a plan change nobody noticed.",
            "Missing caching meant every page view called the provider.",
        ),
        (
            "Moved the batch job to its own key and throttled it.",
            "Got the limit raised by the vendor.",
            "Added a cache in front of the provider API.",
        ),
    ),
    Mode(
        "config-flag",
        frozenset({"api", "edge", "worker"}),
        ("FeatureFlagErrors", "ConfigReloadFailed", "HighErrorRate"),
        (
            "{svc}: errors after config change",
            "Config reload failed on {svc}",
            "{svc} misbehaving after flag flip",
        ),
        (
            "{said} broken after someone changed a setting",
            "{said} weird behaviour since flag change",
            "{said} returning wrong results",
        ),
        (
            "{svc} started failing right after a feature flag was enabled for 100%.",
            "A config push to {svc} had an invalid value; instances reject requests.",
            "{said} shows wrong content since the config change at 10:40.",
        ),
        (
            "A feature flag enabled an unfinished code path for all users.",
            "Typo in a YAML config change was not caught because config is not validated in CI.",
            "Two flags interacted in a way nobody had tested.",
        ),
        (
            "Turned the flag off.",
            "Reverted the config change and added schema validation.",
            "Disabled one of the flags and fixed the interaction.",
        ),
    ),
    Mode(
        "secret-rotation",
        frozenset({"api", "worker", "batch"}),
        ("AuthFailuresHigh", "UpstreamUnauthorized", "CredentialsInvalid"),
        (
            "{svc}: authentication failures to dependencies",
            "{svc} getting 401 from upstream",
            "Invalid credentials in {svc}",
        ),
        (
            "{said} suddenly failing, permission denied",
            "{said} can't log in to the database",
            "{said} broken, 401s everywhere",
        ),
        (
            "After the weekly secret rotation {svc} receives 401 Unauthorized from its dependencies.",
            "{svc} cannot authenticate: password authentication failed for user.",
            "{said} fails with access denied since this morning.",
        ),
        (
            "Secret rotation updated the vault but pods kept the old credential until restart.",
            "An API key was revoked by the provider after it leaked in a public repo.",
            "Service account token expired and the refresh job had been disabled.",
        ),
        (
            "Restarted pods to pick up the new secret.",
            "Issued a new API key and rotated it everywhere.",
            "Re-enabled the token refresh and issued a fresh token.",
        ),
    ),
    Mode(
        "node-failure",
        ANY,
        ("KubeNodeNotReady", "InstanceDown", "HostUnreachable"),
        ("Node failure affecting {svc}", "{svc}: instance down", "{svc} host unreachable"),
        ("{said} partly down", "{said} lost capacity", "half of {said} gone"),
        (
            "Two nodes running {svc} went NotReady; pods rescheduling slowly.",
            "{svc} instance unreachable; cloud provider reports hardware failure.",
            "{said} capacity halved after a zone had network problems.",
        ),
        (
            "The cloud provider retired the underlying host without notice.",
            "Kernel bug caused nodes to hang under memory pressure.",
            "All replicas were scheduled in one availability zone, which had an outage.",
        ),
        (
            "Cordoned the bad nodes and let pods reschedule.",
            "Replaced the instance and spread replicas across zones.",
            "Upgraded the kernel on the node pool.",
        ),
    ),
)

# Past incidents that are about none of the services above: noise every set has.
NOISE: tuple[tuple[str, str, str], ...] = (
    (
        "Office Wi-Fi down in Berlin",
        "People cannot connect in the office.",
        "Access point firmware crashed.",
    ),
    ("Jira very slow", "Ticket pages take 30s to load.", "Vendor side incident."),
    (
        "VPN disconnects",
        "Engineers dropped from the VPN every few minutes.",
        "Expired intermediate certificate on the VPN concentrator.",
    ),
    (
        "Status page not updating",
        "Our public status page shows stale data.",
        "Provider API token expired.",
    ),
    (
        "CI runners queueing",
        "Builds wait 40 minutes for a runner.",
        "Autoscaling group hit its instance quota.",
    ),
    (
        "Grafana dashboards empty",
        "No data in dashboards.",
        "Prometheus remote write misconfigured.",
    ),
    (
        "Phishing email reported",
        "Several people got a fake login email.",
        "External phishing campaign.",
    ),
    (
        "Laptop fleet update broke printers",
        "Printing fails after OS update.",
        "Driver incompatibility.",
    ),
)


@dataclass(frozen=True, slots=True)
class Labelled:
    """An incident of the set with what it is really about."""

    profile: Profile
    service: str
    mode: str
    fix: str = ""
    by_alert: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A new incident and the past incidents a responder would want to see for it."""

    incident: Labelled
    relevant: frozenset[int]


@dataclass
class EvalSet:
    past: list[Labelled] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Incidents in the set (past and new)."""
        return len(self.past) + len(self.queries)


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_id = 1
        # Which of a mode's alert rules a service's team set up (its "house" alert).
        self.house = {svc.name: rng.randrange(3) for svc in SERVICES}

    def incident(
        self, svc: Service, mode: Mode, at: datetime, *, resolved: bool, by_alert: bool
    ) -> Labelled:
        r = self.rng
        house = self.house
        said = r.choice(svc.said)
        fmt = {"svc": svc.name, "said": said}
        summary = r.choice(mode.summaries).format(**fmt)
        labels: frozenset[tuple[str, str]] = frozenset()
        alert_text = ""
        if by_alert:
            # One rule usually covers one failure of one service, so it fires the same alert
            # with the same title template; sometimes a neighbouring rule fires first.
            pick = house[svc.name] % len(mode.alertnames) if r.random() < 0.7 else None
            if pick is None:
                pick = r.randrange(len(mode.alertnames))
            alertname = mode.alertnames[pick]
            title = mode.alert_titles[pick % len(mode.alert_titles)].format(**fmt)
            # Sources name the service differently; not every alert carries every label.
            service_key = r.choice(("service", "service", "app", "job"))
            pairs = {
                ("alertname", alertname),
                (service_key, svc.name),
                ("severity", r.choice(("critical", "warning", "page"))),
            }
            if r.random() < 0.8:
                pairs.add(("namespace", svc.namespace))
            if r.random() < 0.5:
                pairs.add(("team", svc.team))
            if r.random() < 0.6:
                pairs.add(("pod", f"{svc.name}-{r.randrange(16**5):05x}-{r.randrange(16**4):04x}"))
            if r.random() < 0.4:
                pairs.add(("cluster", r.choice(("prod-eu-1", "prod-us-1", "prod-ap-1"))))
            for key, values in mode.extra_labels:
                if r.random() < 0.7:
                    pairs.add((key, r.choice(values)))
            labels = frozenset(pairs)
            alert_text = f"{alertname} {summary}" if r.random() < 0.5 else summary
            if r.random() < 0.5:
                summary = ""  # many rules leave the incident summary to the alert
        else:
            title = r.choice(mode.person_titles).format(**fmt)
            if r.random() < 0.35:
                summary = ""  # "declare checkout is down sev1" and nothing more
        title = title[0].upper() + title[1:]
        root_cause = r.choice(mode.root_causes).format(**fmt) if resolved else ""
        if resolved and r.random() < 0.2:
            root_cause = ""  # postmortem never written
        iid = self.next_id
        self.next_id += 1
        profile = Profile(
            incident_id=iid,
            number=iid,
            title=title,
            summary=summary,
            root_cause=root_cause,
            labels=labels,
            alert_text=alert_text,
            resolved_at=at + timedelta(hours=r.randint(1, 30)) if resolved else None,
        )
        fix = r.choice(mode.fixes) if resolved else ""
        return Labelled(profile, svc.name, mode.name, fix, by_alert)


def build(seed: int = SEED) -> EvalSet:
    """The set: about 300 past incidents and 110 new ones, the same for the same seed."""
    rng = random.Random(seed)
    writer = _Writer(rng)
    out = EvalSet()
    pairs: list[tuple[Service, Mode]] = []
    for svc in SERVICES:
        fitting = [m for m in MODES if m.fits & svc.kinds]
        pairs += [(svc, m) for m in rng.sample(fitting, min(5, len(fitting)))]
    history: dict[tuple[str, str], list[int]] = {}
    for svc, mode in pairs:
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            at = T_START + timedelta(days=rng.randint(0, 330), hours=rng.randint(0, 23))
            inc = writer.incident(svc, mode, at, resolved=True, by_alert=rng.random() < 0.55)
            out.past.append(inc)
            history.setdefault((svc.name, mode.name), []).append(inc.profile.incident_id)
    for title, summary, cause in NOISE:
        iid = writer.next_id
        writer.next_id += 1
        at = T_START + timedelta(days=rng.randint(0, 330))
        profile = Profile(iid, iid, title, summary, cause, resolved_at=at)
        out.past.append(Labelled(profile, "", "noise", "Resolved by the vendor."))
    out.past.sort(key=lambda p: p.profile.resolved_at or T_START)
    # Renumber in resolution order, as a real workspace would have numbered them.
    renumbered = {}
    for n, inc in enumerate(out.past, start=1):
        renumbered[inc.profile.incident_id] = n
    out.past = [replace(p, profile=_renumber(p.profile, renumbered)) for p in out.past]
    history = {k: [renumbered[i] for i in v] for k, v in history.items()}
    writer.next_id = len(out.past) + 1
    chosen = rng.sample(pairs, 110)
    for day, (svc, mode) in enumerate(chosen, start=1):
        at = T_START + timedelta(days=340 + day)
        inc = writer.incident(svc, mode, at, resolved=False, by_alert=rng.random() < 0.5)
        out.queries.append(Query(inc, frozenset(history[(svc.name, mode.name)])))
    return out


def _renumber(p: Profile, ids: dict[int, int]) -> Profile:
    n = ids[p.incident_id]
    return replace(p, incident_id=n, number=n)
