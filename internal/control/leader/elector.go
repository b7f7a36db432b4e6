package leader

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Job is a singleton job: it runs while this replica leads, and must return soon
// after ctx ends. A job that fails while leading is run again after RetryPeriod.
type Job = func(ctx context.Context) error

// Options configure an Elector. Client, Namespace, Name and Identity are required.
type Options struct {
	Client kubernetes.Interface
	// Namespace and Name are the Lease's: the control plane's namespace,
	// istio-leader.
	Namespace, Name string
	// Identity names this replica in the Lease (holderIdentity): its pod name.
	Identity string
	// LeaseDuration is how long the others wait after the last renewal before
	// taking over (default 15 s); RenewDeadline how long the leader keeps trying to
	// renew before it gives up leading (default 10 s); RetryPeriod how often
	// everyone tries (default 2 s). LeaseDuration > RenewDeadline > RetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Log                                       *slog.Logger
}

// Elector campaigns for the Lease and runs the jobs while it holds it.
type Elector struct {
	opts    Options
	jobs    []Job
	leading atomic.Bool
}

// New returns an Elector for the jobs; Run starts it.
func New(opts Options, jobs ...Job) (*Elector, error) {
	if opts.Client == nil || opts.Namespace == "" || opts.Name == "" || opts.Identity == "" {
		return nil, errors.New("leader election: client, namespace, name and identity are required")
	}
	if opts.LeaseDuration == 0 {
		opts.LeaseDuration = 15 * time.Second
	}
	if opts.RenewDeadline == 0 {
		opts.RenewDeadline = 10 * time.Second
	}
	if opts.RetryPeriod == 0 {
		opts.RetryPeriod = 2 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	e := &Elector{opts: opts, jobs: jobs}
	if _, err := e.elector(func(context.Context) {}); err != nil {
		return nil, err
	}
	return e, nil
}

// Leading says whether this replica holds the Lease and runs the jobs.
func (e *Elector) Leading() bool { return e.leading.Load() }

// Run campaigns until ctx ends: when elected it runs the jobs until it loses the
// Lease, then campaigns again. The jobs have stopped when a term ends, before the
// next campaign, and when Run returns. On the way out it gives the Lease up, so
// another replica takes over at once.
func (e *Elector) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		terms := make(chan context.Context, 1)
		le, err := e.elector(func(ctx context.Context) { terms <- ctx })
		if err != nil {
			return err
		}
		done := make(chan struct{})
		go func() { le.Run(ctx); close(done) }()
		select {
		case term := <-terms:
			e.lead(term)
			<-done
		case <-done:
		}
		if ctx.Err() == nil {
			e.opts.Log.Warn("leader election: lost the lease", "lease", e.opts.Namespace+"/"+e.opts.Name, "identity", e.opts.Identity)
		}
	}
	return nil
}

func (e *Elector) elector(started func(context.Context)) (*leaderelection.LeaderElector, error) {
	o := e.opts
	return leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: o.Namespace, Name: o.Name},
			Client:     o.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
		},
		LeaseDuration:   o.LeaseDuration,
		RenewDeadline:   o.RenewDeadline,
		RetryPeriod:     o.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            o.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: started,
			OnStoppedLeading: func() {},
			OnNewLeader: func(identity string) {
				o.Log.Info("leader election: new leader", "lease", o.Namespace+"/"+o.Name, "leader", identity,
					"self", identity == o.Identity)
			},
		},
	})
}

// lead runs the jobs until term ends (the Lease is lost, or Run's ctx ended).
func (e *Elector) lead(term context.Context) {
	e.leading.Store(true)
	defer e.leading.Store(false)
	e.opts.Log.Info("leader election: leading, running the singleton jobs", "lease", e.opts.Namespace+"/"+e.opts.Name,
		"identity", e.opts.Identity, "jobs", len(e.jobs))
	var wg sync.WaitGroup
	for _, job := range e.jobs {
		wg.Go(func() {
			for term.Err() == nil {
				err := job(term)
				if term.Err() != nil {
					return
				}
				e.opts.Log.Error("leader election: singleton job stopped; running it again", "error", err)
				select {
				case <-term.Done():
				case <-time.After(e.opts.RetryPeriod):
				}
			}
		})
	}
	wg.Wait()
}
