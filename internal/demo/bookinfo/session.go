package bookinfo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// sessionCookie is the cookie productpage keeps the signed-in user in, as Flask's session.
const sessionCookie = "session"

// sessionKey signs session cookies. Like the original's hard-coded Flask secret it is a
// fixed demo value, so that every productpage replica accepts every other's cookies.
const sessionKey = "weft-bookinfo-demo-session"

// encodeSession returns the cookie value that carries user: the name and an HMAC of it.
func encodeSession(user string) string {
	name := base64.RawURLEncoding.EncodeToString([]byte(user))
	return name + "." + base64.RawURLEncoding.EncodeToString(sessionMAC(name))
}

// sessionUser returns the user r's session cookie carries, or "" when there is none or its
// signature does not match.
func sessionUser(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	name, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return ""
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, sessionMAC(name)) {
		return ""
	}
	user, err := base64.RawURLEncoding.DecodeString(name)
	if err != nil {
		return ""
	}
	return string(user)
}

func sessionMAC(name string) []byte {
	m := hmac.New(sha256.New, []byte(sessionKey))
	m.Write([]byte(name))
	return m.Sum(nil)[:16]
}

// setSession sets (user != "") or clears (user == "") the session cookie on w.
func setSession(w http.ResponseWriter, user string) {
	c := &http.Cookie{Name: sessionCookie, Path: "/", HttpOnly: true}
	if user == "" {
		c.MaxAge = -1
	} else {
		c.Value = encodeSession(user)
	}
	http.SetCookie(w, c)
}
