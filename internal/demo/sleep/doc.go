// Package sleep is the stand-in for the curl/sleep images of Istio's samples, whose
// container only runs "sleep infinity" so that tests can exec into it: it waits, doing
// nothing, until its context ends or its duration passes. It imports only the standard library.
package sleep
