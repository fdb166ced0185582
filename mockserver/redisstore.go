package mockserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	neturl "net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cambmock/cambmock/mockserver/internal/redislua"
	"github.com/cambmock/cambmock/mockserver/judge"
	"github.com/cambmock/cambmock/scenarios"
)

// The Redis store keeps a fleet's tasks in one Redis (or Valkey), so that
// replicas behind a load balancer are one mock. Each request that changes
// a task is one Lua script (package redislua), run atomically in Redis:
// a poll reads the task, plays its poll script on the scenario clock,
// which the script reads itself (the fleet's manual clock, or Redis TIME
// scaled), stores the new position and returns the step, in one round
// trip. What the answer delivered is recorded afterwards, batched by a
// recorder (recorder), so it adds no round trip to the answer. Replicas
// learn of each other's changes by pub/sub on one channel.
//
// Keys, under the prefix "cambmock:":
//
//	meta              hash: the fleet's settings and fingerprint, epoch, manual clock, generation
//	scripts           hash: the scenarios' scripts as the engine reads them
//	run               the last run id given (INCR)
//	watch             hash: how many waiters each task id has, fleet-wide ("" for the set of tasks)
//	replicas          hash: each live replica's deadline and event-stream listeners
//	dead              list: generations a reset left, for replicas to delete
//	ctl               the pub/sub channel
//	GEN:t:ID          hash: a task
//	GEN:h:ID          sorted set: a task's history, by arrival (Event.Seq)
//	GEN:r:RUN         the task of a run
//	GEN:idx, GEN:exp  sorted sets: tasks by creation, and by last request (for expiry)
//	GEN:kept          hash: events kept per task; GEN:n: counters
//	GEN:cs:SCENARIO   hash: a create script's position
//	GEN:j             list: the request journal, newest first
//
// A reset moves GEN on, in one step; the old generation's keys are deleted
// behind it.
const redisPrefix = "cambmock:"

// Timeouts of the Redis store: each request that needs Redis answers 503
// within about these when Redis is away, rather than hang.
const (
	redisDialTimeout = time.Second
	redisIOTimeout   = time.Second
	redisStartup     = 3 * time.Second
)

// redisScripts are a store's Lua scripts.
type redisScripts struct {
	init, poll, create, result, createStep, record, foldRead, foldCommit, snap, list, sweep, counts,
	journal, reset, clock, watch, beat, at *redis.Script
}

func newRedisScripts() redisScripts {
	s := func(name string) *redis.Script { return redis.NewScript(redislua.Source(name)) }
	return redisScripts{init: s("init"), poll: s("poll"), create: s("create"), result: s("result"), createStep: s("createstep"),
		record: s("record"), foldRead: s("foldread"), foldCommit: s("foldcommit"), snap: s("snap"), list: s("list"),
		sweep: s("sweep"), counts: s("counts"), journal: s("journal"), reset: s("reset"), clock: s("clock"),
		watch: s("watch"), beat: s("beat"), at: s("at")}
}

// redisStore is the store replicas share.
type redisStore struct {
	cfg     storeConfig
	name    string // the URL, its password redacted
	rdb     *redis.Client
	keys    []string // KEYS of every script: the meta hash
	sc      redisScripts
	replica string // this replica's id
	log     *slog.Logger

	initArgs []any // what init.lua takes, to join again after Redis lost its data
	epoch    time.Time
	manual   *scenarios.ManualClock // the server's, shared; nil on the real clock
	clk      scenarios.Clock
	secret   []byte
	rec      *recorder
	jr       *redisJournal

	listeners atomic.Int32 // this replica's event-stream listeners
	elsewhere *atomic.Bool // set when other replicas have listeners
	live      atomic.Int32 // live replicas, as last seen
	beatNow   chan string  // asks the heartbeat to beat now ("tell" to publish)

	ps        *redis.PubSub
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// redisHooks is what a Redis store needs of its server beyond storeConfig.
type redisHooks struct {
	clock     scenarios.Clock // the clock given with WithClock; nil for the real one
	log       *slog.Logger
	elsewhere *atomic.Bool // the bus's flag for listeners on other replicas
}

// bgKey marks the context of the store's background work, so that a
// round-trip count can tell it from the requests'.
type bgKey struct{}

// recKey marks the context of the recorder's calls among the background
// work, so that a test can count them apart from the heartbeat's and the
// sweep's, which come with time rather than with requests.
type recKey struct{}

// redactError returns err's text with the URL's password (and the URL
// itself) hidden: url.Parse quotes the URL it fails on.
func redactError(err error, raw string) string {
	msg := err.Error()
	if u, perr := neturl.Parse(raw); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	msg = strings.ReplaceAll(msg, raw, redactURL(raw))
	if i := strings.Index(raw, "@"); i >= 0 {
		// An unparseable URL: hide everything before the host.
		msg = strings.ReplaceAll(msg, raw[:i], "redis://xxxxx")
	}
	return msg
}

// openRedisStore connects to the Redis at url and joins the fleet that
// shares it, or makes one. It fails within a few seconds when Redis cannot
// be reached.
func openRedisStore(url string, cfg storeConfig, hooks redisHooks) (*redisStore, error) {
	name := redactURL(url)
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("WithStore(%s): %s; give redis://[:PASSWORD@]HOST:PORT/DB or rediss:// for TLS", name, redactError(err, url))
	}
	opt.DialTimeout = redisDialTimeout
	opt.ReadTimeout = redisIOTimeout
	opt.WriteTimeout = redisIOTimeout
	opt.PoolTimeout = redisIOTimeout
	opt.ContextTimeoutEnabled = true
	// A poll's script must run at most once: a retry after a lost reply
	// would advance the task twice.
	opt.MaxRetries = -1
	opt.DisableIdentity = true
	opt.DialerRetries = 1 // one dial, bounded by its timeout
	if hooks.log == nil {
		hooks.log = slog.New(slog.DiscardHandler)
	}
	if hooks.elsewhere == nil {
		hooks.elsewhere = new(atomic.Bool)
	}
	r := &redisStore{cfg: cfg, name: name, rdb: redis.NewClient(opt), keys: []string{redisPrefix + "meta"}, sc: newRedisScripts(),
		log: hooks.log, elsewhere: hooks.elsewhere, beatNow: make(chan string, 1)}
	var id [8]byte
	rand.Read(id[:])
	r.replica = hex.EncodeToString(id[:])
	switch c := hooks.clock.(type) {
	case nil:
	case *scenarios.ManualClock:
		r.manual = c
	default:
		if c != scenarios.SystemClock() {
			r.rdb.Close()
			return nil, fmt.Errorf("WithStore(%s): replicas sharing a store play on one clock, the real one (Redis's) or a manual one; WithClock gave a %T, which they cannot share", name, c)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisStartup)
	defer cancel()
	if err := r.join(ctx); err != nil {
		r.rdb.Close()
		return nil, err
	}
	r.rec = newRecorder(r)
	r.jr = &redisJournal{r: r}
	if err := r.start(ctx); err != nil {
		r.rdb.Close()
		return nil, err
	}
	return r, nil
}

// fingerprint hashes what replicas of one fleet must agree on: the spec,
// the scenarios and the settings the store applies.
func (r *redisStore) fingerprint(encs [][2]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "cambmock redis store v1\n%v %v %v %d %d %d %d\n", r.cfg.scale, r.cfg.manual, r.cfg.ttl, r.cfg.historyLimit,
		r.cfg.eventBudget, r.cfg.maxTasks, r.cfg.journalSize)
	h.Write(r.cfg.spec.Source())
	fmt.Fprintf(h, "\nkinds %q\nstatuses %q\n", r.cfg.kinds, r.cfg.statuses.names)
	for _, sc := range r.cfg.scenarios {
		b, err := scenarios.Format(sc.Scenario, "")
		if err != nil {
			b, _ = json.Marshal(sc.Scenario)
		}
		fmt.Fprintf(h, "scenario %d %q\n%s\n", sc.index, sc.Name, b)
	}
	for _, e := range encs {
		fmt.Fprintf(h, "%s=%s\n", e[0], e[1])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// encodeScript writes a script as the engine reads it: "POLLS,FOR,RUN;".
func encodeScript(s scenarios.Script) string {
	var b strings.Builder
	for _, st := range s {
		b.WriteString(strconv.Itoa(st.Polls))
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(int64(st.For), 10))
		b.WriteByte(',')
		if st.Reply != nil {
			if st.Reply.RunID.Auto {
				b.WriteByte('a')
			} else if v, ok := fixedRunID(st.Reply); ok {
				b.WriteString(strconv.FormatInt(v, 10))
			}
		}
		b.WriteByte(';')
	}
	return b.String()
}

// join runs init.lua: it checks that the fleet's configuration is this
// replica's (or takes the store over when no replica of another
// configuration is alive), and learns the fleet's epoch, clock and secret.
func (r *redisStore) join(ctx context.Context) error {
	var encs [][2]string
	for _, sc := range r.cfg.scenarios {
		i := strconv.Itoa(int(sc.index))
		encs = append(encs, [2]string{"c" + i, encodeScript(sc.Create)}, [2]string{"p" + i, encodeScript(sc.Poll)},
			[2]string{"r" + i, encodeScript(sc.Result)})
	}
	manual, factor, rttl := "0", 1/r.cfg.scale, int64(0)
	clockSec, clockNS := "", "0"
	if r.manual != nil {
		manual = "1"
		now := r.manual.Now()
		clockSec, clockNS = strconv.FormatInt(now.Unix(), 10), strconv.Itoa(now.Nanosecond())
	} else if r.cfg.ttl > 0 {
		rttl = max(int64(math.Ceil(float64(r.cfg.ttl)*r.cfg.scale/float64(time.Millisecond))), 1)
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	args := []any{r.fingerprint(encs), clockSec, clockNS, manual, strconv.FormatFloat(factor, 'g', 17, 64),
		strconv.FormatInt(int64(r.cfg.ttl), 10), strconv.FormatInt(rttl, 10), r.cfg.historyLimit, r.cfg.eventBudget,
		r.cfg.maxTasks, r.cfg.journalSize, hex.EncodeToString(secret), r.replica}
	for _, e := range encs {
		args = append(args, e[0], e[1])
	}
	r.initArgs = args
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("WithStore(%s): %w: %v; start Redis there, or give the URL of one that runs", r.name, errStoreDown, r.scrub(err))
	}
	// Load the scripts of the requests, so that none pays EVALSHA's miss.
	for _, s := range []*redis.Script{r.sc.poll, r.sc.create, r.sc.result, r.sc.createStep, r.sc.record, r.sc.snap, r.sc.list, r.sc.counts} {
		if err := s.Load(ctx, r.rdb).Err(); err != nil {
			return fmt.Errorf("WithStore(%s): %w", r.name, r.fail(err))
		}
	}
	res, err := r.sc.init.Run(ctx, r.rdb, r.keys, args...).Slice()
	if err != nil {
		return fmt.Errorf("WithStore(%s): %w", r.name, r.fail(err))
	}
	switch state, _ := res[0].(string); state {
	case "busy":
		return fmt.Errorf("WithStore(%s): %d live replica(s) share this store with another configuration (spec, scenarios, --clock, --time-scale, --task-ttl, --max-tasks or the limits); start every replica alike, or use another database of the store (redis://HOST:PORT/DB)", r.name, res[1])
	case "takeover":
		r.log.Warn("the store held a fleet configured otherwise, with no live replica; its tasks are forgotten", "store", r.name)
	}
	epoch, _ := strconv.ParseInt(str(res[1]), 10, 64)
	r.epoch = time.Unix(epoch, 0).UTC()
	r.secret, _ = hex.DecodeString(str(res[3]))
	clockNow, _ := strconv.ParseInt(str(res[2]), 10, 64)
	if r.manual != nil {
		r.manual.Follow(r.epoch.Add(time.Duration(clockNow)))
		r.clk = r.manual
	} else {
		t0 := time.Now()
		rt, err := r.rdb.Time(ctx).Result()
		if err != nil {
			return fmt.Errorf("WithStore(%s): %w", r.name, r.fail(err))
		}
		t1 := time.Now()
		offset := rt.Sub(t0.Add(t1.Sub(t0) / 2))
		r.clk = &fleetClock{epoch: r.epoch, offset: offset, factor: factor}
	}
	return nil
}

// fleetClock is the fleet's real clock: this machine's, set to Redis's,
// and scaled from the fleet's epoch, so every replica reads what the
// scripts read.
type fleetClock struct {
	epoch  time.Time
	offset time.Duration
	factor float64
}

func (c *fleetClock) Now() time.Time {
	now := time.Now().Add(c.offset)
	if c.factor == 1 {
		return now
	}
	d := float64(now.Sub(c.epoch)) * c.factor
	const limit = float64(math.MaxInt64 / 2)
	if d > limit {
		d = limit
	}
	return c.epoch.Add(time.Duration(d))
}

// start subscribes to the fleet's channel and starts the store's
// background work: the recorder, the heartbeat, the expiry sweep and the
// deletion of generations a reset left.
func (r *redisStore) start(ctx context.Context) error {
	ps := r.rdb.Subscribe(ctx, redisPrefix+"ctl")
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return fmt.Errorf("WithStore(%s): %w", r.name, r.fail(err))
	}
	if r.manual != nil {
		r.manual.Share(r.advance)
	}
	bg, stop := context.WithCancel(context.WithValue(context.Background(), bgKey{}, true))
	r.stop, r.ps = stop, ps
	r.beat(ctx, "tell")
	r.wg.Add(4)
	go func() { defer r.wg.Done(); r.subscribe(bg, ps) }()
	go func() { defer r.wg.Done(); r.rec.run(context.WithValue(bg, recKey{}, true)) }()
	go func() { defer r.wg.Done(); r.heartbeat(bg) }()
	go func() { defer r.wg.Done(); r.sweepLoop(bg) }()
	r.clean()
	return nil
}

// scrub returns err's text without the store's secrets.
func (r *redisStore) scrub(err error) string {
	msg := err.Error()
	if p := r.rdb.Options().Password; p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return msg
}

// fail turns an error of Redis into the store's: one wrapping errStoreDown
// when Redis cannot be reached or cannot serve (503), another when it
// refused what it was asked (a bug: 500).
func (r *redisStore) fail(err error) error {
	if err == nil {
		return nil
	}
	var re redis.Error
	if errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded) {
		msg := re.Error()
		transient := false
		for _, p := range []string{"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOMETA", "NOAUTH", "WRONGPASS", "OOM"} {
			if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p+" ") {
				transient = true
			}
		}
		if !transient {
			return fmt.Errorf("the task store %s refused a request: %s", r.name, r.scrub(err))
		}
	}
	return fmt.Errorf("%w at %s: %s; it answers again once Redis is back", errStoreDown, r.name, r.scrub(err))
}

// run runs a script, joining the fleet again first if Redis lost its data
// (a restart without persistence).
func (r *redisStore) run(ctx context.Context, s *redis.Script, args ...any) (any, error) {
	v, err := s.Run(ctx, r.rdb, r.keys, args...).Result()
	if err != nil && strings.Contains(err.Error(), "NOMETA") {
		r.log.Warn("the task store lost its state (was Redis restarted without persistence?); joining it anew", "store", r.name)
		if _, jerr := r.sc.init.Run(ctx, r.rdb, r.keys, r.initArgs...).Result(); jerr == nil {
			v, err = s.Run(ctx, r.rdb, r.keys, args...).Result()
		}
	}
	return v, err
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func num(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f, _ := strconv.ParseFloat(v, 64)
			return int64(f)
		}
		return n
	}
	return 0
}

func (r *redisStore) clock() scenarios.Clock { return r.clk }

func (r *redisStore) journal() journaler { return r.jr }

// fleetSecret is the key file URLs are signed with, the same on every
// replica.
func (r *redisStore) fleetSecret() []byte { return r.secret }

// advance moves the fleet's manual clock: what the server's ManualClock
// does when advanced.
func (r *redisStore) advance(d time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*redisIOTimeout)
	defer cancel()
	v, err := r.run(ctx, r.sc.clock, int64(d))
	if err != nil {
		return time.Time{}, fmt.Errorf("moving the shared clock: %w", r.fail(err))
	}
	return r.epoch.Add(time.Duration(num(v))), nil
}

// at is the time a script's nanoseconds since the epoch stand for.
func (r *redisStore) at(ns string) time.Time {
	n, _ := strconv.ParseInt(ns, 10, 64)
	return r.epoch.Add(time.Duration(n))
}

func (r *redisStore) create(ctx context.Context, spec taskSpec) (taskMeta, error) {
	if spec.id == "" {
		spec.id = newTaskID()
	}
	v, err := r.run(ctx, r.sc.create, spec.id, int(spec.scenario), int(spec.kind), spec.audioType,
		strconv.FormatUint(spec.seed, 10), int64(spec.length), spec.items)
	if err != nil {
		return taskMeta{}, r.fail(err)
	}
	res, _ := v.([]any)
	switch num(res[0]) {
	case 0:
		return taskMeta{}, fmt.Errorf("%w: %q", ErrTaskExists, spec.id)
	case 1:
		return taskMeta{}, fmt.Errorf("%w: the mock holds %d tasks, its limit; reset it (POST /__admin/reset), raise the limit (--max-tasks) or let tasks expire (--task-ttl)", ErrFull, r.cfg.maxTasks)
	}
	return taskMeta{id: spec.id, scenario: spec.scenario, kind: spec.kind, runID: num(res[1]), seed: spec.seed, length: spec.length,
		audioType: spec.audioType, items: spec.items, created: r.at(str(res[2]))}, nil
}

func (r *redisStore) createStep(ctx context.Context, sc *scenario) (scenarios.Step, int, int, bool, error) {
	v, err := r.run(ctx, r.sc.createStep, int(sc.index))
	if err != nil {
		return scenarios.Step{}, 0, 0, false, r.fail(err)
	}
	res, _ := v.([]any)
	i, n, ok := int(num(res[0])), int(num(res[1])), num(res[2]) == 1
	if !ok || i >= len(sc.Create) {
		return scenarios.Step{}, i, n, false, nil
	}
	return sc.Create[i], i, n, true, nil
}

// redisRef is a Redis store's handle on a task in a ticket: the generation
// it came from, so that a delivery in flight during a reset lands there.
type redisRef struct {
	gen, id string
}

// ticketOf reads the reply of poll.lua or result.lua; both end with the
// task's items.
func (r *redisStore) ticketOf(res []any, id string) ticket {
	items, _ := strconv.Atoi(str(res[len(res)-1]))
	sc, _ := strconv.Atoi(str(res[7]))
	kind, _ := strconv.Atoi(str(res[8]))
	seed, _ := strconv.ParseUint(str(res[9]), 10, 64)
	length, _ := strconv.ParseInt(str(res[10]), 10, 64)
	return ticket{
		meta: taskMeta{id: id, scenario: uint16(sc), kind: uint8(kind), runID: num(res[6]), seed: seed, length: time.Duration(length),
			audioType: str(res[11]), items: items, created: r.at(str(res[12]))},
		index: int(num(res[1])), n: int(num(res[2])), at: time.Duration(num(res[3])), real: time.Duration(num(res[4])),
		seq: int(num(res[5])), ref: redisRef{gen: str(res[13]), id: id},
	}
}

func (r *redisStore) poll(ctx context.Context, id string, kind uint8) (ticket, error) {
	v, err := r.run(ctx, r.sc.poll, id, int(kind))
	if err != nil {
		return ticket{}, r.fail(err)
	}
	res, _ := v.([]any)
	switch num(res[0]) {
	case 0:
		return ticket{}, fmt.Errorf("task %q: %w", id, ErrNoTask)
	case 1:
		k, _ := strconv.Atoi(str(res[1]))
		return ticket{}, fmt.Errorf("task %q is a %s task: %w", id, r.kindName(k), errWrongKind)
	}
	t := r.ticketOf(res, id)
	t.endpoint = judge.Poll
	if sc := r.cfg.scenarios[t.meta.scenario]; t.index < 0 || t.index >= len(sc.Poll) {
		return ticket{}, fmt.Errorf("the task store %s answered step %d of scenario %q, which has %d poll steps: are replicas of another build sharing it?", r.name, t.index+1, sc.Name, len(sc.Poll))
	}
	return t, nil
}

func (r *redisStore) kindName(k int) string {
	if k >= 0 && k < len(r.cfg.kinds) {
		return r.cfg.kinds[k]
	}
	return "unknown"
}

func (r *redisStore) result(ctx context.Context, run int64, kinds []uint8, file bool) (ticket, error) {
	var b strings.Builder
	b.WriteByte(',')
	for _, k := range kinds {
		b.WriteString(strconv.Itoa(int(k)))
		b.WriteByte(',')
	}
	f := "0"
	if file {
		f = "1"
	}
	v, err := r.run(ctx, r.sc.result, run, f, b.String())
	if err != nil {
		return ticket{}, r.fail(err)
	}
	res, _ := v.([]any)
	switch num(res[0]) {
	case 0:
		return ticket{}, fmt.Errorf("run %d: %w", run, errNoRun)
	case 1:
		k, _ := strconv.Atoi(str(res[1]))
		return ticket{}, fmt.Errorf("run %d is a run of a %s task: %w", run, r.kindName(k), errWrongKind)
	}
	t := r.ticketOf(res, str(res[14]))
	t.ready = str(res[15]) == "1"
	t.endpoint = judge.Result
	if file {
		t.endpoint = judge.File
	}
	return t, nil
}

// encodeEvent writes a history event as a member of the sorted set:
// seq,endpoint,at,real,sent,realSent,step,code,status,fault,flags,retryAfter.
func (r *redisStore) encodeEvent(ev judge.Event) string {
	b := make([]byte, 0, 96)
	b = strconv.AppendInt(b, int64(ev.Seq), 10)
	for _, n := range [...]int64{int64(endpointIndex(ev.Endpoint)), int64(ev.At), int64(ev.Real), int64(ev.Sent), int64(ev.RealSent),
		int64(ev.Step), int64(ev.Code), int64(r.cfg.statuses.index(ev.Status)), int64(faultIndex(ev.Fault))} {
		b = append(b, ',')
		b = strconv.AppendInt(b, n, 10)
	}
	flags := 0
	if ev.Delivered {
		flags |= 1
	}
	if ev.Early {
		flags |= 2
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(flags), 10)
	ra := int64(-1)
	if ev.RetryAfter != nil {
		ra = int64(*ev.RetryAfter)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, ra, 10)
	return string(b)
}

func (r *redisStore) decodeEvent(s string) (judge.Event, bool) {
	var f [12]int64
	parts := strings.Split(s, ",")
	if len(parts) != len(f) {
		return judge.Event{}, false
	}
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return judge.Event{}, false
		}
		f[i] = n
	}
	ep := endpoints[0]
	if f[1] >= 0 && int(f[1]) < len(endpoints) {
		ep = endpoints[f[1]]
	}
	fault := scenarios.Fault("")
	if f[9] >= 0 && int(f[9]) < len(faultNames) {
		fault = faultNames[f[9]]
	}
	e := judge.Event{Seq: int(f[0]), Endpoint: ep, At: judge.Duration(f[2]), Real: judge.Duration(f[3]), Sent: judge.Duration(f[4]),
		RealSent: judge.Duration(f[5]), Step: int(f[6]), Code: int(f[7]), Status: r.cfg.statuses.name(uint8(f[8])), Fault: fault,
		Delivered: f[10]&1 != 0, Early: f[10]&2 != 0}
	if f[11] >= 0 {
		d := judge.Duration(f[11])
		e.RetryAfter = &d
	}
	return e, true
}

func (r *redisStore) deliver(ctx context.Context, t *ticket, ev judge.Event) {
	ref, ok := t.ref.(redisRef)
	if !ok {
		return
	}
	ep := "p"
	switch ev.Endpoint {
	case judge.Result:
		ep = "r"
	case judge.File:
		ep = "f"
	}
	dl, fault := "0", "0"
	if ev.Delivered {
		dl = "1"
	}
	if ev.Fault != "" {
		fault = "1"
	}
	r.rec.add(recOp{kind: 'd', id: ref.id, args: []any{"d", ref.gen, ref.id, ep, dl, int(r.cfg.statuses.index(ev.Status)), ev.Code,
		fault, ev.Seq, r.encodeEvent(ev)}})
}

func (r *redisStore) undeliver(ctx context.Context, t *ticket) {
	ref, ok := t.ref.(redisRef)
	if !ok {
		return
	}
	ep := "p"
	if t.endpoint != judge.Poll {
		ep = "r"
	}
	r.rec.add(recOp{kind: 'u', id: ref.id, args: []any{"u", ref.gen, ref.id, ep, t.seq}})
}

// snapshots reads tasks with snap.lua; a task that has gone is left out.
func (r *redisStore) snapshots(ctx context.Context, ids []string, history bool) ([]snapshot, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	h := "0"
	if history {
		h = "1"
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, h)
	for _, id := range ids {
		args = append(args, id)
	}
	v, err := r.run(ctx, r.sc.snap, args...)
	if err != nil {
		return nil, r.fail(err)
	}
	res, _ := v.([]any)
	now, _ := strconv.ParseInt(str(res[0]), 10, 64)
	var out []snapshot
	for i, id := range ids {
		fields, _ := res[2+2*i].([]any)
		if len(fields) == 0 {
			continue
		}
		events, _ := res[3+2*i].([]any)
		f := make(map[string]string, len(fields)/2)
		for j := 0; j+1 < len(fields); j += 2 {
			f[str(fields[j])] = str(fields[j+1])
		}
		out = append(out, r.snapshotOf(id, f, events, now, history))
	}
	return out, nil
}

func (r *redisStore) snapshotOf(id string, f map[string]string, events []any, now int64, history bool) snapshot {
	n := func(k string) int64 {
		v, _ := strconv.ParseInt(f[k], 10, 64)
		return v
	}
	sc := int(n("sc"))
	if sc < 0 || sc >= len(r.cfg.scenarios) {
		sc = 0
	}
	seed, _ := strconv.ParseUint(f["seed"], 10, 64)
	meta := taskMeta{id: id, scenario: uint16(sc), kind: uint8(n("kind")), runID: n("run"), seed: seed, length: time.Duration(n("len")),
		audioType: f["audio"], created: r.at(f["created"])}
	meta.items, _ = strconv.Atoi(f["items"])
	sn := snapshot{meta: meta, elapsed: time.Duration(now - n("created")), polls: int(n("polls")), results: int(n("res")),
		fetched: int(n("fet")), step: int(n("step")), succeeded: f["succ"] == "1",
		inFlight: int(n("arr")-n("polls")) + int(n("rarr")-n("res")), served: map[string]bool{}}
	if lst := n("lst"); lst != 0 {
		sn.last = string(r.cfg.statuses.name(uint8(lst)))
	}
	for i := 1; i < r.cfg.statuses.len(); i++ {
		if n("sv"+strconv.Itoa(i)) > 0 {
			sn.served[string(r.cfg.statuses.name(uint8(i)))] = true
		}
	}
	if r.cfg.ttl > 0 {
		sn.expires = r.at(f["last"]).Add(r.cfg.ttl)
	}
	if history {
		s := r.cfg.scenarios[sc]
		h := judge.History{Task: id, Scenario: s.Name, Kind: r.kindName(int(meta.kind)), Scale: r.cfg.scale, Manual: r.cfg.manual,
			Events: make([]judge.Event, 0, len(events))}
		for _, e := range events {
			if ev, ok := r.decodeEvent(str(e)); ok {
				h.Events = append(h.Events, ev)
			}
		}
		slices.SortStableFunc(h.Events, func(a, b judge.Event) int { return a.Seq - b.Seq })
		if t := f["tally"]; t != "" {
			json.Unmarshal([]byte(t), &h.Earlier)
		}
		sn.history = h
	}
	return sn
}

// settle bounds how long a read of a task waits for requests in flight to
// be recorded: an answer another replica has sent is in Redis a batch
// later, and a client that holds it and asks at once should find it.
const settle = 50 * time.Millisecond

func (r *redisStore) task(ctx context.Context, id string) (snapshot, error) {
	if err := r.rec.flush(ctx); err != nil {
		return snapshot{}, err
	}
	var until time.Time
	for {
		out, err := r.snapshots(ctx, []string{id}, true)
		if err != nil {
			return snapshot{}, err
		}
		if len(out) == 0 {
			return snapshot{}, fmt.Errorf("task %q: %w", id, ErrNoTask)
		}
		// A request in flight is one whose answer is on its way (or
		// recorded by another replica's next batch), or one a latency or
		// a hang holds: wait a little, for the first.
		if out[0].inFlight == 0 {
			return out[0], nil
		}
		if until.IsZero() {
			until = time.Now().Add(settle)
		}
		if time.Now().After(until) {
			return out[0], nil
		}
		select {
		case <-ctx.Done():
			return out[0], nil
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// listPage is how many tasks tasks reads at a time when it filters them.
const listPage = 500

func (r *redisStore) tasks(ctx context.Context, q taskQuery) ([]snapshot, int, error) {
	if err := r.rec.flush(ctx); err != nil {
		return nil, 0, err
	}
	if q.status == "" && q.scenario == "" && q.kind == "" {
		v, err := r.run(ctx, r.sc.list, q.offset, q.limit, "0")
		if err != nil {
			return nil, 0, r.fail(err)
		}
		res, _ := v.([]any)
		ids := strs(res[2])
		out, err := r.snapshots(ctx, ids, q.history)
		return out, int(num(res[1])), err
	}
	var picked []string
	total := 0
	for from := 0; ; from += listPage {
		v, err := r.run(ctx, r.sc.list, from, listPage, "1")
		if err != nil {
			return nil, 0, r.fail(err)
		}
		res, _ := v.([]any)
		now, _ := strconv.ParseInt(str(res[0]), 10, 64)
		ids, fields := strs(res[2]), strs(res[3])
		for i, id := range ids {
			if len(fields) < 4*i+4 || !r.matches(fields[4*i:4*i+4], q, now) {
				continue
			}
			if total >= q.offset && (q.limit == 0 || len(picked) < q.limit) {
				picked = append(picked, id)
			}
			total++
		}
		if len(ids) < listPage {
			break
		}
	}
	out, err := r.snapshots(ctx, picked, q.history)
	return out, total, err
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = str(e)
	}
	return out
}

// matches reports whether a task's scenario, kind, last status and last
// request (as list.lua gives them) meet q.
func (r *redisStore) matches(f []string, q taskQuery, now int64) bool {
	if f[0] == "" {
		return false
	}
	sc, _ := strconv.Atoi(f[0])
	kind, _ := strconv.Atoi(f[1])
	lst, _ := strconv.Atoi(f[2])
	last, _ := strconv.ParseInt(f[3], 10, 64)
	if r.cfg.ttl > 0 && now-last > int64(r.cfg.ttl) {
		return false
	}
	if q.scenario != "" && (sc >= len(r.cfg.scenarios) || r.cfg.scenarios[sc].Name != q.scenario) {
		return false
	}
	if q.kind != "" && r.kindName(kind) != q.kind {
		return false
	}
	if q.status != "" && (lst == 0 || string(r.cfg.statuses.name(uint8(lst))) != q.status) {
		return false
	}
	return true
}

func (r *redisStore) counts(ctx context.Context) ([]any, error) {
	v, err := r.run(ctx, r.sc.counts)
	if err != nil {
		return nil, r.fail(err)
	}
	res, _ := v.([]any)
	return res, nil
}

func (r *redisStore) count(ctx context.Context) (int64, error) {
	if err := r.rec.flush(ctx); err != nil {
		return 0, err
	}
	res, err := r.counts(ctx)
	if err != nil {
		return 0, err
	}
	r.live.Store(int32(num(res[3])))
	return num(res[0]), nil
}

func (r *redisStore) unknownRuns(ctx context.Context) (int64, error) {
	res, err := r.counts(ctx)
	if err != nil {
		return 0, err
	}
	return num(res[1]), nil
}

func (r *redisStore) reset(ctx context.Context) error {
	if err := r.rec.flush(ctx); err != nil {
		return err
	}
	if _, err := r.run(ctx, r.sc.reset); err != nil {
		return r.fail(err)
	}
	r.cfg.wakeAll()
	r.clean()
	return nil
}

// broadcast sends an event of the bus to the other replicas, if one of
// them has listeners.
func (r *redisStore) broadcast(kind string, msg []byte) {
	if !r.elsewhere.Load() {
		return
	}
	r.rec.add(recOp{kind: 'b', args: []any{"b", msg}})
}

// listen is told when this replica's event stream gains its first listener
// or loses its last, so the fleet knows whether to send it events.
func (r *redisStore) listen(listening bool) {
	if listening {
		r.listeners.Store(1)
	} else {
		r.listeners.Store(0)
	}
	select {
	case r.beatNow <- "tell":
	default:
	}
}

// watch counts a waiter of task id ("" for the set of tasks) in the
// fleet, so that whichever replica changes it publishes a wake; call the
// function it returns when the waiter is done.
func (r *redisStore) watch(ctx context.Context, id string) (func(), error) {
	if _, err := r.sc.watch.Run(ctx, r.rdb, r.keys, id, 1).Result(); err != nil {
		return nil, r.fail(err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*redisIOTimeout)
		defer cancel()
		if err := r.sc.watch.Run(ctx, r.rdb, r.keys, id, -1).Err(); err != nil {
			r.log.Warn("a waiter could not be uncounted; replicas will publish wakes nobody waits for", "store", r.name, "task", id, "err", r.scrub(err))
		}
	}, nil
}

// describe is what the admin API's health says of the store.
func (r *redisStore) describe() map[string]any {
	return map[string]any{"store": r.name, "replicas": r.live.Load()}
}

func (r *redisStore) close() error {
	r.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.rec.close(ctx)
		r.stop()
		r.ps.Close() // ends the subscriber's read
		r.wg.Wait()
		r.beat(ctx, "leave")
		r.rdb.Close()
	})
	return nil
}

// subscribe hands the fleet's messages to the server until ctx ends: wakes
// of waiters, resets, moves of the manual clock, events for the admin
// stream. After a reconnection (Redis restarted) it wakes every waiter and
// reads the clock again, since messages may have been lost meanwhile.
func (r *redisStore) subscribe(ctx context.Context, ps *redis.PubSub) {
	defer ps.Close()
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, 15*time.Second)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				ps.Ping(ctx)
				continue
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				r.resync(ctx)
			}
		case *redis.Message:
			r.handle(m.Payload)
		}
	}
}

func (r *redisStore) resync(ctx context.Context) {
	r.cfg.wakeAll()
	if r.manual != nil {
		if v, err := r.run(ctx, r.sc.clock, 0); err == nil {
			r.manual.Follow(r.epoch.Add(time.Duration(num(v))))
		}
	}
	select {
	case r.beatNow <- "":
	default:
	}
}

func (r *redisStore) handle(p string) {
	if p == "" {
		return
	}
	switch p[0] {
	case 'w':
		_, id, _ := strings.Cut(p[1:], " ")
		r.cfg.wake(id)
	case 'R':
		r.cfg.wakeAll()
	case 'c':
		if r.manual != nil {
			n, _ := strconv.ParseInt(p[1:], 10, 64)
			r.manual.Follow(r.epoch.Add(time.Duration(n)))
		}
	case 'b':
		from, msg, _ := strings.Cut(p[1:], " ")
		if from != r.replica && r.cfg.remote != nil {
			r.cfg.remote("", []byte(msg))
		}
	case 'L':
		select {
		case r.beatNow <- "":
		default:
		}
	}
}

// beat tells the fleet this replica is alive and whether it has listeners,
// and learns whether others have.
func (r *redisStore) beat(ctx context.Context, mode string) {
	v, err := r.sc.beat.Run(ctx, r.rdb, r.keys, r.replica, r.listeners.Load(), mode).Slice()
	if err != nil || len(v) < 2 {
		return
	}
	r.live.Store(int32(num(v[0])))
	r.elsewhere.Store(num(v[1]) > 0)
}

func (r *redisStore) heartbeat(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		mode := ""
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case mode = <-r.beatNow:
		}
		bctx, cancel := context.WithTimeout(ctx, 2*redisIOTimeout)
		r.beat(bctx, mode)
		cancel()
	}
}

// sweepLoop forgets expired tasks now and then: Redis's TTLs remove a
// task's keys on the real clock, the sweep its entries in the indexes, and
// on a manual clock the tasks themselves.
func (r *redisStore) sweepLoop(ctx context.Context) {
	if r.cfg.ttl <= 0 {
		return
	}
	every := min(max(r.cfg.ttl/4, time.Second), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for range 100 {
			sctx, cancel := context.WithTimeout(ctx, 2*redisIOTimeout)
			v, err := r.run(sctx, r.sc.sweep, 1000)
			cancel()
			if err != nil || num(v) < 1000 {
				break
			}
		}
	}
}

// clean deletes, in the background, the keys of the generations resets
// left behind.
func (r *redisStore) clean() {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), bgKey{}, true), time.Minute)
		defer cancel()
		dead, err := r.rdb.LRange(ctx, redisPrefix+"dead", 0, -1).Result()
		if err != nil {
			return
		}
		for _, gen := range dead {
			var cursor uint64
			for {
				keys, next, err := r.rdb.Scan(ctx, cursor, redisPrefix+gen+":*", 1000).Result()
				if err != nil {
					return
				}
				if len(keys) > 0 {
					r.rdb.Unlink(ctx, keys...)
				}
				if cursor = next; cursor == 0 {
					break
				}
			}
			r.rdb.LRem(ctx, redisPrefix+"dead", 0, gen)
		}
	}()
}

// redisJournal is the request journal of a fleet: its entries are written
// by each replica's recorder, and read from Redis.
type redisJournal struct {
	r *redisStore
}

// jentry is a journal entry as Redis keeps it.
type jentry struct {
	At       int64  `json:"at"`
	Method   string `json:"m"`
	Path     string `json:"p"`
	Query    string `json:"q,omitempty"`
	Code     int    `json:"c"`
	Task     string `json:"t,omitempty"`
	Scenario string `json:"s,omitempty"`
	Script   string `json:"x,omitempty"`
	Step     int    `json:"n,omitempty"`
	Fault    string `json:"f,omitempty"`
	Dur      int64  `json:"d"`
	Key      bool   `json:"k,omitempty"`
}

func (j *redisJournal) add(e entry) {
	b, _ := json.Marshal(jentry{At: e.at.UnixNano(), Method: e.method, Path: e.path, Query: e.query, Code: e.code, Task: e.task,
		Scenario: e.scenario, Script: e.script, Step: e.step, Fault: string(e.fault), Dur: int64(e.dur), Key: e.key})
	j.r.rec.add(recOp{kind: 'j', args: []any{"j", b}})
}

func (j *redisJournal) last(ctx context.Context, n int) ([]entry, int64, error) {
	if err := j.r.rec.flush(ctx); err != nil {
		return nil, 0, err
	}
	if n < 0 || n > j.r.cfg.journalSize {
		n = j.r.cfg.journalSize
	}
	v, err := j.r.run(ctx, j.r.sc.journal, n)
	if err != nil {
		return nil, 0, j.r.fail(err)
	}
	res, _ := v.([]any)
	var out []entry
	for _, s := range strs(res[1]) {
		var je jentry
		if json.Unmarshal([]byte(s), &je) != nil {
			continue
		}
		out = append(out, entry{at: time.Unix(0, je.At), method: je.Method, path: je.Path, query: je.Query, code: je.Code,
			task: je.Task, scenario: je.Scenario, script: je.Script, step: je.Step, fault: scenarios.Fault(je.Fault),
			dur: time.Duration(je.Dur), key: je.Key})
	}
	return out, num(res[0]), nil
}

// reset has nothing to do: the store's reset starts a new journal.
func (j *redisJournal) reset() {}
