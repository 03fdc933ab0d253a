package openai_test

import (
	"context"
	"fmt"
	"log"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

func Example() {
	srv := openaitest.NewServer(&openaitest.Options{
		Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
			return openaitest.Reply{Content: "4", Tokens: []string{"4"}, Logprobs: []float64{-0.01}}
		},
	})
	defer srv.Close()

	c, err := openai.New(&openai.Options{BaseURL: srv.URL, Model: openaitest.DefaultModel, ReturnTokenIDs: true})
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()
	comp, err := c.Generate(context.Background(), model.Request{
		Messages: []retrain.Message{{Role: retrain.RoleUser, Content: "2+2?"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(comp.Text, comp.Tokens.IDs[0] == openaitest.TokenID("4"), comp.Tokens.Logprobs, comp.FinishReason)
	// Output: 4 true [-0.01] stop
}
