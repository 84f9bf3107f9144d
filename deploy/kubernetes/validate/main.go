// Command validate checks opsbot's Kubernetes manifests without a cluster
// or downloaded JSON schemas: it decodes every document strictly into the
// k8s.io/api types (unknown or duplicate fields, wrong types and unknown
// kinds are errors), loads the ConfigMap's files with opsbot's own strict
// loaders, and holds the objects to opsbot's deployment rules: three
// replicas, both probes, limits, a non-root read-only pod, secrets only
// through *_FILE from a mounted Secret, and only the public port open.
//
//	cd deploy/kubernetes/validate && go run .          # checks ../
//	go run . -dir path/to/manifests
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	dir := flag.String("dir", "..", "folder of the manifests")
	flag.Parse()
	n, err := validateDir(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "manifests in %s are not valid:\n%v\n", *dir, err)
		os.Exit(1)
	}
	fmt.Printf("manifests ok: %d objects in %s\n", n, *dir)
}
