package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve serves h over TLS on ln (15017 in the control plane) until ctx ends.
// tlsConfig supplies the serving certificate (ca.CA.ServingConfig). h is the
// injection Handler, which then answers at every path, or a mux: weft control serves
// Handler.Mux with the validating webhook at /validate beside it.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, tlsConfig *tls.Config) error {
	srv := &http.Server{Handler: h, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		srv.Close()
	}()
	defer close(done)
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
