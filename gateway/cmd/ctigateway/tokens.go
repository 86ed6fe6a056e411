package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"crmcti/gateway"
	gwhttp "crmcti/gateway/http"
	"crmcti/gateway/postgres"
)

// tokenCommand manages the API tokens the CRM pushes directory changes
// with:
//
//	ctigateway token create NAME   print a new token (shown once) of scope directory
//	ctigateway token revoke NAME   revoke it
//	ctigateway token list          list tokens, never their secrets
func tokenCommand(ctx context.Context, c *config, args []string) error {
	usage := errors.New("usage: ctigateway token create NAME | revoke NAME | list")
	if len(args) == 0 || (args[0] == "list") != (len(args) == 1) || len(args) > 2 {
		return usage
	}
	db, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "create":
		return createToken(ctx, db, args[1])
	case "revoke":
		if err := db.RevokeAPIToken(ctx, args[1]); err != nil {
			return err
		}
		fmt.Printf("revoked API token %q\n", args[1])
		return nil
	case "list":
		return listTokens(ctx, db)
	}
	return usage
}

func createToken(ctx context.Context, db *postgres.DB, name string) error {
	if err := gateway.CheckText(name, 100); err != nil || name == "" {
		return fmt.Errorf("token name %q: empty, too long or not text", name)
	}
	token, hash, err := gwhttp.NewAPIToken()
	if err != nil {
		return err
	}
	if err := db.CreateAPIToken(ctx, name, gateway.ScopeDirectory, hash); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "API token %q (scope %s) created. It is shown only now; store it in the CRM:\n", name, gateway.ScopeDirectory)
	fmt.Println(token)
	return nil
}

func listTokens(ctx context.Context, db *postgres.DB) error {
	toks, err := db.APITokens(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSCOPE\tCREATED\tLAST USED\tREVOKED")
	for _, t := range toks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Scope, stamp(t.Created), stamp(t.LastUsed), stamp(t.Revoked))
	}
	return w.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
