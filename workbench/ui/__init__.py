"""The Gradio app: one thin module per tab over the core. Only this package imports gradio."""
