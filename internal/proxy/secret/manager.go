package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/config"
)

// ErrSecretNotReady means a config refers to an SDS secret that has not arrived yet,
// or was removed. Handshakes that need it fail with an error wrapping it.
var ErrSecretNotReady = errors.New("secret not ready")

// Options configure a Manager.
type Options struct {
	// Logger receives file reload events. Nil discards them.
	Logger *slog.Logger
	// Clock is the time for certificate validity, file checks and /certs. Nil means
	// time.Now.
	Clock func() time.Time
}

// Manager holds named secrets and builds TLS configs from Envoy TLS contexts. All its
// methods are safe for concurrent use.
type Manager struct {
	log   *slog.Logger
	clock func() time.Time

	mu       sync.Mutex
	secrets  map[string]*entry
	contexts []weak.Pointer[common] // of the configs built, for Certs
}

// NewManager returns an empty Manager.
func NewManager(opts Options) *Manager {
	m := &Manager{log: opts.Logger, clock: opts.Clock, secrets: map[string]*entry{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	return m
}

// entry is one named secret. Configs that refer to the name hold the entry and read
// its current value at each handshake; an entry is created by the first reference or
// Set and lives as long as the Manager.
type entry struct {
	name string
	val  atomic.Pointer[secretValue] // nil until set, and after Remove
}

// secretValue is a compiled Secret: one of its fields is set.
type secretValue struct {
	cert       source[keyPair]                     // tls_certificate
	validation *validator                          // validation_context
	vcProto    *tlsv3.CertificateValidationContext // validation_context, for merging
}

// Set adds or replaces the secret s.Name, from the bootstrap's static secrets or from
// SDS. Configs built on the name see the new value at their next handshake. An
// invalid secret is an error and leaves the previous value in place.
func (m *Manager) Set(s *tlsv3.Secret) error {
	if s.GetName() == "" {
		return errors.New("secret: name is required")
	}
	if err := checkMessage(s); err != nil {
		return fmt.Errorf("secret %q: %w", s.GetName(), err)
	}
	v := &secretValue{}
	var err error
	switch t := s.GetType().(type) {
	case *tlsv3.Secret_TlsCertificate:
		if v.cert, err = m.keyPairSource(t.TlsCertificate); err != nil {
			return fmt.Errorf("secret %q: tls_certificate: %w", s.GetName(), err)
		}
	case *tlsv3.Secret_ValidationContext:
		if v.validation, err = m.compileValidation(t.ValidationContext); err != nil {
			return fmt.Errorf("secret %q: validation_context: %w", s.GetName(), err)
		}
		v.vcProto = t.ValidationContext
	default:
		return fmt.Errorf("secret %q: one of tls_certificate, validation_context is required", s.GetName())
	}
	m.entry(s.GetName()).val.Store(v)
	return nil
}

// Remove drops the secret name. Configs that refer to it fail their handshakes with
// ErrSecretNotReady until it is set again.
func (m *Manager) Remove(name string) {
	m.mu.Lock()
	e := m.secrets[name]
	m.mu.Unlock()
	if e != nil {
		e.val.Store(nil)
	}
}

// entry returns the entry for name, creating it.
func (m *Manager) entry(name string) *entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.secrets[name]
	if e == nil {
		e = &entry{name: name}
		m.secrets[name] = e
	}
	return e
}

// sdsEntry resolves an SdsSecretConfig. Without sds_config it names a static secret,
// which must be set already (Envoy's "unknown static secret"); with ADS as its source
// the secret may come later.
func (m *Manager) sdsEntry(c *tlsv3.SdsSecretConfig) (*entry, error) {
	src := c.GetSdsConfig()
	if src == nil {
		e := m.entry(c.GetName())
		if e.val.Load() == nil {
			return nil, fmt.Errorf("name: unknown static secret %q", c.GetName())
		}
		return e, nil
	}
	if src.GetAds() == nil {
		return nil, errors.New("sds_config: only ads is supported by weft")
	}
	if v := src.GetResourceApiVersion(); v != corev3.ApiVersion_AUTO && v != corev3.ApiVersion_V3 {
		return nil, fmt.Errorf("sds_config.resource_api_version: %s not supported by weft", v)
	}
	return m.entry(c.GetName()), nil
}

// load returns the entry's current value.
func (e *entry) load() (*secretValue, error) {
	v := e.val.Load()
	if v == nil {
		return nil, fmt.Errorf("secret %q: %w", e.name, ErrSecretNotReady)
	}
	return v, nil
}

// The sources a config can read its certificates and validation context from.
var (
	_ source[keyPair]   = fixed[keyPair]{}
	_ source[keyPair]   = (*watched[keyPair])(nil)
	_ source[keyPair]   = sdsKeyPair{}
	_ source[caBundle]  = (*watched[caBundle])(nil)
	_ source[validator] = sdsValidation{}
	_ source[validator] = (*combinedValidation)(nil)
)

// sdsKeyPair is the tls_certificate of a named secret.
type sdsKeyPair struct{ e *entry }

func (s sdsKeyPair) get() (*keyPair, error) {
	v, err := s.e.load()
	if err != nil {
		return nil, err
	}
	if v.cert == nil {
		return nil, fmt.Errorf("secret %q holds no tls_certificate", s.e.name)
	}
	return v.cert.get()
}

// sdsValidation is the validation_context of a named secret.
type sdsValidation struct{ e *entry }

func (s sdsValidation) get() (*validator, error) {
	v, err := s.e.load()
	if err != nil {
		return nil, err
	}
	if v.validation == nil {
		return nil, fmt.Errorf("secret %q holds no validation_context", s.e.name)
	}
	return v.validation, nil
}

// combinedValidation is a combined_validation_context: the default context merged
// with the named secret's, as Envoy merges them (proto MergeFrom: the secret's
// singular fields win, repeated fields are concatenated). The merge is compiled again
// only when the secret changes.
type combinedValidation struct {
	m     *Manager
	base  *tlsv3.CertificateValidationContext
	e     *entry
	cache atomic.Pointer[combinedCache]
}

type combinedCache struct {
	from *secretValue
	v    *validator
	err  error
}

func (c *combinedValidation) get() (*validator, error) {
	sv, err := c.e.load()
	if err != nil {
		return nil, err
	}
	if cc := c.cache.Load(); cc != nil && cc.from == sv {
		return cc.v, cc.err
	}
	if sv.vcProto == nil {
		return nil, fmt.Errorf("secret %q holds no validation_context", c.e.name)
	}
	merged := proto.CloneOf(c.base)
	proto.Merge(merged, sv.vcProto)
	v, err := c.m.compileValidation(merged)
	if err != nil {
		err = fmt.Errorf("combined_validation_context with secret %q: %w", c.e.name, err)
	}
	c.cache.Store(&combinedCache{from: sv, v: v, err: err})
	return v, err
}

// track records a built context for Certs, for as long as a config uses it.
func (m *Manager) track(c *common) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := m.contexts[:0]
	for _, w := range m.contexts {
		if w.Value() != nil {
			live = append(live, w)
		}
	}
	clear(m.contexts[len(live):])
	m.contexts = append(live, weak.Make(c))
}

// liveContexts returns the contexts whose configs are still referenced.
func (m *Manager) liveContexts() []*common {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*common
	for _, w := range m.contexts {
		if c := w.Value(); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// checkMessage runs the message's generated validation and weft's field coverage.
func checkMessage(msg proto.Message) error {
	if err := config.Validate(msg); err != nil {
		return err
	}
	return config.Check(msg)
}
