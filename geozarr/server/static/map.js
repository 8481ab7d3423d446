/*
 * geozarr's map page: a small slippy map on a canvas, in plain JavaScript, with nothing
 * fetched from anywhere but the server that sent it.
 *
 * It reads tilejson.json, draws the WebMercatorQuad XYZ tiles it names (only those inside
 * the data's bounds, so no request fails), pans by drag, zooms by wheel, buttons and keys,
 * and on a click asks point?lon=..&lat=.. for the values under the cursor. The view is
 * kept in the address as #zoom/lat/lon, so a view can be shared or reloaded.
 *
 * Positions are kept in the Web Mercator unit square: x from 0 (180 W) to 1 (180 E),
 * y from 0 (85.05 N) to 1 (85.05 S); at zoom z the square is tileSize * 2^z pixels wide.
 */
"use strict";

(function () {
  const LAT_LIMIT = 85.0511287798066;
  const OVERZOOM = 4;     // zoom levels shown beyond the finest tiles (pixels enlarged)
  const UNDERZOOM = 3;    // and below the coarsest
  const CACHE_LIMIT = 400;
  const CLICK_SLOP = 4;   // pixels a press may move and still be a click

  const mapEl = document.getElementById("map");
  const canvas = document.getElementById("canvas");
  const ctx = canvas.getContext("2d");
  const statusEl = document.getElementById("status");

  const view = { x: 0.5, y: 0.5, zoom: 0 };
  const tiles = new Map();   // "z/x/y" -> { image, loaded }, least recently used first
  let info = null;           // the TileJSON document
  let marker = null;         // the clicked point, in unit coordinates
  let cursor = null;         // the pointer's lon/lat, for the status line
  let frame = 0;
  let drag = null;
  let hashTimer = 0;

  // -- coordinates -----------------------------------------------------------------------
  function clamp(value, low, high) {
    return Math.max(low, Math.min(high, value));
  }

  function lonToX(lon) {
    return (lon + 180) / 360;
  }

  function latToY(lat) {
    const phi = clamp(lat, -LAT_LIMIT, LAT_LIMIT) * Math.PI / 180;
    return (1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2;
  }

  function xToLon(x) {
    return x * 360 - 180;
  }

  function yToLat(y) {
    return Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180 / Math.PI;
  }

  function worldSize(zoom) {
    return info.geozarr.tileSize * Math.pow(2, zoom);
  }

  function viewport() {
    return { w: canvas.clientWidth, h: canvas.clientHeight };
  }

  function toScreen(ux, uy) {
    const { w, h } = viewport();
    const s = worldSize(view.zoom);
    return [(ux - view.x) * s + w / 2, (uy - view.y) * s + h / 2];
  }

  function toUnit(sx, sy) {
    const { w, h } = viewport();
    const s = worldSize(view.zoom);
    return [view.x + (sx - w / 2) / s, view.y + (sy - h / 2) / s];
  }

  function zoomLimits() {
    return [Math.max(0, info.minzoom - UNDERZOOM), info.maxzoom + OVERZOOM];
  }

  function constrain() {
    const [low, high] = zoomLimits();
    view.zoom = clamp(view.zoom, low, high);
    view.x = clamp(view.x, 0, 1);
    view.y = clamp(view.y, 0, 1);
  }

  // -- tiles -------------------------------------------------------------------------------
  /* The tiles of zoom z that the data's bounds touch. */
  function dataRange(z) {
    const n = Math.pow(2, z);
    const [west, south, east, north] = info.bounds;
    return {
      x0: clamp(Math.floor(lonToX(west) * n), 0, n - 1),
      x1: clamp(Math.ceil(lonToX(east) * n) - 1, 0, n - 1),
      y0: clamp(Math.floor(latToY(north) * n), 0, n - 1),
      y1: clamp(Math.ceil(latToY(south) * n) - 1, 0, n - 1),
    };
  }

  function tileUrl(z, x, y) {
    return info.tiles[0].replace("{z}", z).replace("{x}", x).replace("{y}", y);
  }

  function request(z, x, y) {
    const key = z + "/" + x + "/" + y;
    let tile = tiles.get(key);
    if (tile) {
      tiles.delete(key);
      tiles.set(key, tile);
      return tile;
    }
    const image = new Image();
    tile = { image: image, loaded: false };
    image.onload = function () {
      tile.loaded = true;
      schedule();
    };
    image.src = tileUrl(z, x, y);
    tiles.set(key, tile);
    while (tiles.size > CACHE_LIMIT) {
      tiles.delete(tiles.keys().next().value);
    }
    return tile;
  }

  /* Draw the part of a loaded coarser tile that covers tile (z, x, y), while it loads. */
  function drawFallback(z, x, y, left, top, width, height) {
    for (let k = 1; k <= 4 && z - k >= info.minzoom; k++) {
      const parent = tiles.get((z - k) + "/" + (x >> k) + "/" + (y >> k));
      if (parent && parent.loaded) {
        const part = parent.image.naturalWidth / Math.pow(2, k);
        const sx = (x - ((x >> k) << k)) * part;
        const sy = (y - ((y >> k) << k)) * part;
        ctx.drawImage(parent.image, sx, sy, part, part, left, top, width, height);
        return;
      }
    }
  }

  function draw() {
    frame = 0;
    const ratio = window.devicePixelRatio || 1;
    const { w, h } = viewport();
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.imageSmoothingEnabled = false;   // data pixels stay sharp when enlarged
    if (!info) {
      return;
    }
    const tz = clamp(Math.round(view.zoom), info.minzoom, info.maxzoom);
    const n = Math.pow(2, tz);
    const s = worldSize(view.zoom);
    const [ux0, uy0] = toUnit(0, 0);
    const [ux1, uy1] = toUnit(w, h);
    const range = dataRange(tz);
    const x0 = Math.max(range.x0, Math.floor(ux0 * n));
    const x1 = Math.min(range.x1, Math.floor(ux1 * n));
    const y0 = Math.max(range.y0, Math.floor(uy0 * n));
    const y1 = Math.min(range.y1, Math.floor(uy1 * n));
    let loading = 0;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const left = Math.round((x / n - view.x) * s + w / 2);
        const right = Math.round(((x + 1) / n - view.x) * s + w / 2);
        const top = Math.round((y / n - view.y) * s + h / 2);
        const bottom = Math.round(((y + 1) / n - view.y) * s + h / 2);
        const tile = request(tz, x, y);
        if (tile.loaded) {
          ctx.drawImage(tile.image, left, top, right - left, bottom - top);
        } else {
          loading += 1;
          drawFallback(tz, x, y, left, top, right - left, bottom - top);
        }
      }
    }
    mapEl.dataset.tilesLoading = String(loading);
    drawMarker();
    showStatus(tz);
  }

  function drawMarker() {
    if (!marker) {
      return;
    }
    const [sx, sy] = toScreen(marker.x, marker.y);
    ctx.beginPath();
    ctx.arc(sx, sy, 6, 0, 2 * Math.PI);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(sx, sy, 4, 0, 2 * Math.PI);
    ctx.strokeStyle = "#d64545";
    ctx.stroke();
  }

  function showStatus(tz) {
    let text = "zoom " + view.zoom.toFixed(1) + " \u00b7 tiles z" + tz;
    if (cursor) {
      text = cursor[1].toFixed(5) + ", " + cursor[0].toFixed(5) + " \u00b7 " + text;
    }
    statusEl.textContent = text;
  }

  function schedule() {
    if (!frame) {
      frame = window.requestAnimationFrame(draw);
    }
  }

  // -- the view in the address -------------------------------------------------------------
  function saveHash() {
    window.clearTimeout(hashTimer);
    hashTimer = window.setTimeout(function () {
      const hash = "#" + view.zoom.toFixed(2) + "/" + yToLat(view.y).toFixed(6) + "/" +
        xToLon(view.x).toFixed(6);
      if (window.location.hash !== hash) {
        window.history.replaceState(null, "", hash);
      }
    }, 250);
  }

  function readHash() {
    const parts = window.location.hash.slice(1).split("/").map(Number);
    if (parts.length !== 3 || !parts.every(Number.isFinite)) {
      return false;
    }
    view.zoom = parts[0];
    view.y = latToY(parts[1]);
    view.x = lonToX(parts[2]);
    constrain();
    return true;
  }

  function fitBounds() {
    const [west, south, east, north] = info.bounds;
    const { w, h } = viewport();
    const spanX = Math.max(lonToX(east) - lonToX(west), 1e-12);
    const spanY = Math.max(latToY(south) - latToY(north), 1e-12);
    const ts = info.geozarr.tileSize;
    const fit = Math.log2(Math.min(0.9 * w / (spanX * ts), 0.9 * h / (spanY * ts)));
    view.x = (lonToX(west) + lonToX(east)) / 2;
    view.y = (latToY(north) + latToY(south)) / 2;
    view.zoom = Math.min(Math.floor(fit), info.maxzoom);
    constrain();
  }

  // -- interaction -------------------------------------------------------------------------
  function position(event) {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  function zoomAround(zoom, sx, sy) {
    const [ux, uy] = toUnit(sx, sy);
    const [low, high] = zoomLimits();
    view.zoom = clamp(zoom, low, high);
    const { w, h } = viewport();
    const s = worldSize(view.zoom);
    view.x = ux - (sx - w / 2) / s;
    view.y = uy - (sy - h / 2) / s;
    constrain();
    schedule();
    saveHash();
  }

  function zoomStep(step) {
    const { w, h } = viewport();
    zoomAround(Math.round(view.zoom) + step, w / 2, h / 2);
  }

  function formatCoordinate(value) {
    return value === null || value === undefined ? "\u2013" : String(Number(value.toPrecision(10)));
  }

  function showPoint(answer) {
    document.getElementById("point").hidden = false;
    document.getElementById("point-lon").textContent = answer.lon.toFixed(6);
    document.getElementById("point-lat").textContent = answer.lat.toFixed(6);
    document.getElementById("point-xy").textContent = formatCoordinate(answer.x) + ", " +
      formatCoordinate(answer.y) + (answer.crs ? " (" + answer.crs + ")" : "");
    document.getElementById("point-pixel").textContent = answer.inside
      ? "level " + answer.level + ", row " + answer.row + ", column " + answer.col
      : "outside the raster";
    const body = document.querySelector("#point-values tbody");
    body.replaceChildren();
    const count = answer.inside ? answer.text.length : 0;
    for (let i = 0; i < count; i++) {
      const row = document.createElement("tr");
      const name = document.createElement("th");
      const value = document.createElement("td");
      name.textContent = "band " + (i + 1);
      value.textContent = answer.text[i] === null ? "nodata" : answer.text[i];
      row.append(name, value);
      body.append(row);
    }
  }

  function showError(message) {
    const el = document.getElementById("error");
    el.textContent = message;
    el.hidden = !message;
  }

  function query(sx, sy) {
    const [ux, uy] = toUnit(sx, sy);
    marker = { x: ux, y: uy };
    schedule();
    const lon = xToLon(ux);
    const lat = yToLat(uy);
    if (ux < 0 || ux > 1 || uy < 0 || uy > 1) {
      showError("That point is outside the map.");
      return;
    }
    fetch("point?lon=" + lon + "&lat=" + lat)
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) {
            throw new Error(answer.error || response.statusText);
          }
          return answer;
        });
      })
      .then(function (answer) {
        showError("");
        showPoint(answer);
      })
      .catch(function (error) {
        showError("Could not read the point: " + error.message);
      });
  }

  function listen() {
    mapEl.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 || event.target.closest("#controls")) {
        return;
      }
      drag = { id: event.pointerId, x: event.clientX, y: event.clientY, moved: 0 };
      mapEl.setPointerCapture(event.pointerId);
      mapEl.focus();
    });
    mapEl.addEventListener("pointermove", function (event) {
      const [sx, sy] = position(event);
      const [ux, uy] = toUnit(sx, sy);
      cursor = ux >= 0 && ux <= 1 && uy >= 0 && uy <= 1 ? [xToLon(ux), yToLat(uy)] : null;
      if (drag && event.pointerId === drag.id) {
        const dx = event.clientX - drag.x;
        const dy = event.clientY - drag.y;
        drag.x = event.clientX;
        drag.y = event.clientY;
        drag.moved += Math.abs(dx) + Math.abs(dy);
        if (drag.moved > CLICK_SLOP) {
          mapEl.classList.add("dragging");
        }
        const s = worldSize(view.zoom);
        view.x -= dx / s;
        view.y -= dy / s;
        constrain();
        saveHash();
      }
      schedule();
    });
    mapEl.addEventListener("pointerup", function (event) {
      if (!drag || event.pointerId !== drag.id) {
        return;
      }
      const click = drag.moved <= CLICK_SLOP;
      drag = null;
      mapEl.classList.remove("dragging");
      if (click) {
        const [sx, sy] = position(event);
        query(sx, sy);
      }
    });
    mapEl.addEventListener("pointercancel", function () {
      drag = null;
      mapEl.classList.remove("dragging");
    });
    mapEl.addEventListener("wheel", function (event) {
      event.preventDefault();
      const scale = event.deltaMode === 1 ? 0.05 : event.deltaMode === 2 ? 1 : 0.0025;
      const step = clamp(-event.deltaY * scale, -1, 1);
      const [sx, sy] = position(event);
      zoomAround(view.zoom + step, sx, sy);
    }, { passive: false });
    mapEl.addEventListener("dblclick", function (event) {
      const [sx, sy] = position(event);
      zoomAround(Math.round(view.zoom) + 1, sx, sy);
    });
    mapEl.addEventListener("keydown", function (event) {
      const pan = 64 / worldSize(view.zoom);
      const moves = {
        ArrowLeft: [-pan, 0], ArrowRight: [pan, 0], ArrowUp: [0, -pan], ArrowDown: [0, pan],
      };
      if (event.key === "+" || event.key === "=") {
        zoomStep(1);
      } else if (event.key === "-" || event.key === "_") {
        zoomStep(-1);
      } else if (moves[event.key]) {
        view.x += moves[event.key][0];
        view.y += moves[event.key][1];
        constrain();
        schedule();
        saveHash();
      } else {
        return;
      }
      event.preventDefault();
    });
    document.getElementById("zoom-in").addEventListener("click", function () {
      zoomStep(1);
    });
    document.getElementById("zoom-out").addEventListener("click", function () {
      zoomStep(-1);
    });
    document.getElementById("fit").addEventListener("click", function () {
      fitBounds();
      schedule();
      saveHash();
    });
    window.addEventListener("resize", schedule);
    window.addEventListener("hashchange", function () {
      if (readHash()) {
        schedule();
      }
    });
  }

  // -- start -------------------------------------------------------------------------------
  function describe() {
    document.title = info.name + " \u2013 geozarr";
    document.getElementById("title").textContent = info.name;
    const extra = info.geozarr;
    if (extra.note) {
      const notice = document.getElementById("notice");
      notice.textContent = extra.note;
      notice.hidden = false;
    }
    if (extra.colors && extra.stretch) {
      document.getElementById("legend").hidden = false;
      document.getElementById("legend-bar").style.background =
        "linear-gradient(to right, " + extra.colors.join(", ") + ")";
      document.getElementById("legend-low").textContent = Number(extra.stretch[0].toPrecision(4));
      document.getElementById("legend-high").textContent = Number(extra.stretch[1].toPrecision(4));
    }
  }

  fetch("tilejson.json")
    .then(function (response) {
      if (!response.ok) {
        throw new Error(response.status + " " + response.statusText);
      }
      return response.json();
    })
    .then(function (document_) {
      info = document_;
      describe();
      if (!readHash()) {
        fitBounds();
      }
      listen();
      schedule();
    })
    .catch(function (error) {
      showError("Could not load the map description: " + error.message);
    });
})();
