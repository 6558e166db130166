"""The web driver display: live page over a websocket, its server, and the driver's inputs.

In: display views built from the HMI state (`view.py`). Out: a page at http://127.0.0.1:PORT/
(`server.py`) and the driver's inputs from the page, the keyboard and a wheel (`inputs.py`,
`wheel.py`), as driver-input events. Plain HTML/JS/CSS in static/, no build step.
"""
