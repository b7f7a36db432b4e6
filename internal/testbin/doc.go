// Package testbin builds the weft binary for end-to-end tests that run it the way a
// user does (weft up, weft control, weft proxy as processes).
package testbin
