package secret

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
)

// init declares the fields of Envoy's TLS API that this package implements. Values
// within them that weft cannot honour (a cipher suite Go lacks, an OTHER_NAME SAN
// matcher, an SDS source other than ADS) are rejected when a config is built.
func init() {
	config.Support(&tlsv3.DownstreamTlsContext{}, "common_tls_context", "require_client_certificate",
		"require_sni", "disable_stateless_session_resumption", "disable_stateful_session_resumption")
	config.Support(&tlsv3.UpstreamTlsContext{}, "common_tls_context", "sni", "allow_renegotiation",
		"max_session_keys")
	config.Support(&tlsv3.CommonTlsContext{}, "tls_params", "tls_certificates",
		"tls_certificate_sds_secret_configs", "validation_context", "validation_context_sds_secret_config",
		"combined_validation_context", "alpn_protocols")
	config.Support(&tlsv3.CommonTlsContext_CombinedCertificateValidationContext{},
		"default_validation_context", "validation_context_sds_secret_config")
	config.Support(&tlsv3.TlsParameters{}, "tls_minimum_protocol_version", "tls_maximum_protocol_version",
		"cipher_suites", "ecdh_curves")
	config.Support(&tlsv3.TlsCertificate{}, "certificate_chain", "private_key")
	config.Support(&tlsv3.CertificateValidationContext{}, "trusted_ca", "match_typed_subject_alt_names",
		"match_subject_alt_names", "verify_certificate_hash", "verify_certificate_spki",
		"trust_chain_verification")
	config.Support(&tlsv3.SubjectAltNameMatcher{}, "san_type", "matcher")
	config.Support(&tlsv3.SdsSecretConfig{}, "name", "sds_config")
	config.Support(&tlsv3.Secret{}, "name", "tls_certificate", "validation_context")
	config.Support(&corev3.DataSource{}, "filename", "inline_bytes", "inline_string")
	config.Support(&corev3.ConfigSource{}, "ads", "resource_api_version")
	config.SupportAll(&corev3.AggregatedConfigSource{})
	config.Support(&matcherv3.StringMatcher{}, "exact", "prefix", "suffix", "contains", "safe_regex",
		"ignore_case")
	config.Support(&matcherv3.RegexMatcher{}, "regex")
}
