package kubetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// credentials are the files kube-apiserver starts with.
type credentials struct {
	certDir           string // where it writes its self-signed serving certificate
	token             string // an admin's bearer token, in group system:masters
	tokenFile         string
	serviceAccountKey string // signs and verifies ServiceAccount tokens
}

func writeCredentials(dir string) (credentials, error) {
	secret := make([]byte, 16)
	rand.Read(secret)
	c := credentials{
		certDir:           filepath.Join(dir, "certs"),
		token:             hex.EncodeToString(secret),
		tokenFile:         filepath.Join(dir, "tokens.csv"),
		serviceAccountKey: filepath.Join(dir, "service-account.key"),
	}
	if err := os.MkdirAll(c.certDir, 0o700); err != nil {
		return c, err
	}
	// token,user,uid,"group1,group2"
	line := c.token + `,kubetest-admin,kubetest-admin,"system:masters"` + "\n"
	if err := os.WriteFile(c.tokenFile, []byte(line), 0o600); err != nil {
		return c, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return c, err
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	return c, os.WriteFile(c.serviceAccountKey, pemKey, 0o600)
}

// writeKubeconfig writes a kubeconfig file for cfg, with one context, "kubetest".
func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubetest"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos["kubetest"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "kubetest"}
	kc.CurrentContext = "kubetest"
	return clientcmd.WriteToFile(*kc, path)
}
